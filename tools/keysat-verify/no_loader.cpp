// Linked into the static keysat-verify only, with the linker's --wrap for these names. OpenSSL's
// libcrypto can load modules (dlopen) and resolve host names (getaddrinfo, gethostbyname);
// keysat-verify uses it for BLAKE2b alone, with no configuration file, and does neither. In a
// static program glibc's versions need the shared libraries of the glibc that built it, which a
// customer's machine may not have (the linker warns so). libcrypto's calls land here instead:
// loading and name lookups fail cleanly, as on a machine with no network.
// No header is included, so the prototypes here are ours alone (C linkage ignores types).

#include <cerrno>

struct addrinfo;
struct hostent;

extern "C" {

void* __wrap_dlopen(const char*, int) {
    return nullptr;
}
int __wrap_getaddrinfo(const char*, const char*, const addrinfo*, addrinfo** out) {
    if (out != nullptr)
        *out = nullptr;
    return -2; // EAI_NONAME
}
hostent* __wrap_gethostbyname(const char*) {
    errno = ENOENT;
    return nullptr;
}

} // extern "C"
