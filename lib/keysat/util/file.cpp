#include "keysat/util/file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace keysat {

namespace fs = std::filesystem;

namespace {
std::string errno_text() {
    return std::strerror(errno);
}

// Closes a descriptor on scope exit.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0)
            ::close(fd);
    }
};

Expected<std::string> read_fd(int fd, std::size_t max_bytes, const std::string& name) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return usage_error(fmt::format("{}: read failed: {}", name, errno_text()));
        }
        if (n == 0)
            break;
        if (out.size() + static_cast<std::size_t>(n) > max_bytes)
            return usage_error(fmt::format("{}: larger than {} bytes", name, max_bytes));
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}
} // namespace

Expected<std::string> read_small_file(const fs::path& path, std::size_t max_bytes) {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0)
        return usage_error(fmt::format("{}: {}", path.string(), errno_text()));
    struct stat st {};
    if (::fstat(f.fd, &st) == 0 && S_ISDIR(st.st_mode))
        return usage_error(fmt::format("{}: is a directory", path.string()));
    return read_fd(f.fd, max_bytes, path.string());
}

Expected<std::string> read_stdin(std::size_t max_bytes) {
    return read_fd(STDIN_FILENO, max_bytes, "standard input");
}

Expected<void> write_file_atomic(const fs::path& path, std::string_view content, unsigned mode,
                                 Overwrite overwrite) {
    fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    // Built with += rather than "." + name + "...": g++ 12 -O3 warns falsely (-Wrestrict) on the
    // latter (GCC bug 105651).
    std::string name = ".";
    name += path.filename().string();
    name += ".tmpXXXXXX";
    std::string tmpl = (dir / name).string();
    Fd f{::mkstemp(tmpl.data())};
    if (f.fd < 0)
        return usage_error(
            fmt::format("{}: cannot create a temporary file: {}", path.string(), errno_text()));
    auto fail = [&](std::string what) -> Expected<void> {
        ::unlink(tmpl.c_str());
        return usage_error(fmt::format("{}: {}", path.string(), what));
    };
    if (::fchmod(f.fd, mode) != 0)
        return fail("chmod failed: " + errno_text());
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(f.fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail("write failed: " + errno_text());
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(f.fd) != 0)
        return fail("fsync failed: " + errno_text());
    if (overwrite == Overwrite::no) {
        // link() fails if the target exists, so a concurrent writer cannot be clobbered either.
        if (::link(tmpl.c_str(), path.c_str()) != 0) {
            std::string why = errno == EEXIST ? "already exists (use --force to replace it)"
                                              : "cannot create: " + errno_text();
            return fail(why);
        }
        ::unlink(tmpl.c_str());
    } else if (::rename(tmpl.c_str(), path.c_str()) != 0) {
        return fail("rename failed: " + errno_text());
    }
    Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd >= 0)
        ::fsync(d.fd);
    return {};
}

} // namespace keysat

namespace keysat {

Expected<void> append_line(const std::filesystem::path& path, std::string_view line) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return usage_error(fmt::format("{}: {}", path.string(), std::strerror(errno)));
    std::string buf(line);
    buf += '\n';
    ssize_t n = ::write(fd, buf.data(), buf.size());
    int err = errno;
    bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (n != static_cast<ssize_t>(buf.size()) || !synced)
        return usage_error(fmt::format("{}: append failed: {}", path.string(), std::strerror(err)));
    return {};
}

} // namespace keysat
