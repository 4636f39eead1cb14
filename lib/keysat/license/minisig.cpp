#include "keysat/license/minisig.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/license/text_lines.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::license {

namespace {

constexpr std::string_view k_untrusted_prefix = "untrusted comment: ";
constexpr std::string_view k_trusted_prefix = "trusted comment: ";

// The whole file mapped read-only, for legacy signatures over the raw content.
class MappedFile {
  public:
    static Expected<MappedFile> open(const std::filesystem::path& path) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return usage_error(fmt::format("{}: {}", path.string(), std::strerror(errno)));
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            return usage_error(fmt::format("{}: not a regular file", path.string()));
        }
        MappedFile m;
        m.m_size = static_cast<std::size_t>(st.st_size);
        if (m.m_size > 0) {
            void* p = ::mmap(nullptr, m.m_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                ::close(fd);
                return usage_error(
                    fmt::format("{}: mmap failed: {}", path.string(), std::strerror(errno)));
            }
            m.m_data = static_cast<const std::uint8_t*>(p);
        }
        ::close(fd);
        return m;
    }
    MappedFile(MappedFile&& o) noexcept
        : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
    MappedFile& operator=(MappedFile&&) = delete;
    ~MappedFile() {
        if (m_data != nullptr)
            ::munmap(const_cast<std::uint8_t*>(m_data), m_size);
    }
    ByteView view() const { return {m_data, m_size}; }

  private:
    MappedFile() = default;
    const std::uint8_t* m_data = nullptr;
    std::size_t m_size = 0;
};

} // namespace

Bytes global_message(const SignatureFile& sig) {
    Bytes m(sig.signature.begin(), sig.signature.end());
    m.insert(m.end(), sig.trusted_comment.begin(), sig.trusted_comment.end());
    return m;
}

Expected<void> check_trusted_comment(std::string_view comment) {
    if (comment.size() >= 8192)
        return usage_error("trusted comment must be shorter than 8192 bytes");
    for (char c : comment)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
            return usage_error("trusted comment must not contain control characters");
    return {};
}

Expected<SignatureFile> parse_signature_file(std::string_view text) {
    auto lines = split_lines(text);
    while (lines.size() > 4 && lines.back().empty())
        lines.pop_back();
    if (lines.size() != 4)
        return invalid("malformed signature file: expected 4 lines");
    SignatureFile s;
    if (!lines[0].starts_with(k_untrusted_prefix))
        return invalid("malformed signature file: line 1 is not an untrusted comment");
    s.untrusted_comment = lines[0].substr(k_untrusted_prefix.size());
    if (s.untrusted_comment.size() >= 1024)
        return invalid("malformed signature file: untrusted comment is too long");
    // Only one CR before each LF is a line end; another would not survive a rewrite of the file.
    if (s.untrusted_comment.find('\r') != std::string::npos)
        return invalid("malformed signature file: untrusted comment contains a carriage return");
    auto sig = base64_decode(lines[1]);
    if (!sig || sig->size() != 74)
        return invalid("malformed signature file: line 2 is not a 74-byte base64 signature");
    if ((*sig)[0] == 'E' && (*sig)[1] == 'D')
        s.alg = SigAlg::prehashed;
    else if ((*sig)[0] == 'E' && (*sig)[1] == 'd')
        s.alg = SigAlg::legacy;
    else
        return invalid("malformed signature file: unknown signature algorithm");
    std::copy_n(sig->begin() + 2, 8, s.key_id.begin());
    std::copy_n(sig->begin() + 10, 64, s.signature.begin());
    if (!lines[2].starts_with(k_trusted_prefix))
        return invalid("malformed signature file: line 3 is not a trusted comment");
    s.trusted_comment = lines[2].substr(k_trusted_prefix.size());
    if (auto ok = check_trusted_comment(s.trusted_comment); !ok)
        return invalid("malformed signature file: " + ok.error().message);
    auto global = base64_decode(lines[3]);
    if (!global || global->size() != 64)
        return invalid("malformed signature file: line 4 is not a 64-byte base64 signature");
    std::copy(global->begin(), global->end(), s.global_signature.begin());
    return s;
}

std::string format_signature_file(const SignatureFile& s) {
    Bytes sig{'E', static_cast<std::uint8_t>(s.alg == SigAlg::prehashed ? 'D' : 'd')};
    sig.insert(sig.end(), s.key_id.begin(), s.key_id.end());
    sig.insert(sig.end(), s.signature.begin(), s.signature.end());
    return fmt::format("untrusted comment: {}\n{}\ntrusted comment: {}\n{}\n", s.untrusted_comment,
                       base64_encode(sig), s.trusted_comment, base64_encode(s.global_signature));
}

Expected<VerifiedFile> verify_file(const std::filesystem::path& file, const SignatureFile& sig,
                                   const Keyring& ring) {
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < ring.keys.size(); ++i)
        if (!ring.keys[i].key_id || *ring.keys[i].key_id == sig.key_id)
            candidates.push_back(i);
    if (candidates.empty())
        return invalid(fmt::format("signature key id {} matches no trusted key",
                                   crypto::key_id_text(sig.key_id)));
    std::optional<std::size_t> signer;
    if (sig.alg == SigAlg::prehashed) {
        KEYSAT_TRY_ASSIGN(digest, crypto::blake2b_512_file(file));
        for (std::size_t i : candidates)
            if (!signer && crypto::verify(ring.keys[i], digest, sig.signature))
                signer = i;
    } else {
        KEYSAT_TRY_ASSIGN(mapped, MappedFile::open(file));
        for (std::size_t i : candidates)
            if (!signer && crypto::verify(ring.keys[i], mapped.view(), sig.signature))
                signer = i;
    }
    if (!signer)
        return invalid("signature verification failed: the file does not match its signature");
    if (!crypto::verify(ring.keys[*signer], global_message(sig), sig.global_signature))
        return invalid("trusted comment signature verification failed");
    return VerifiedFile{sig, *signer};
}

} // namespace keysat::license
