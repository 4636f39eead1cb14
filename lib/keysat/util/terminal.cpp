#include "keysat/util/terminal.hpp"

#include <cstdio>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

namespace keysat {

bool stderr_is_terminal() {
    return ::isatty(STDERR_FILENO) == 1;
}

std::optional<std::string> prompt_passphrase(std::string_view prompt) {
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return std::nullopt;
    termios old{};
    bool have_termios = ::tcgetattr(fd, &old) == 0;
    if (!have_termios) {
        ::close(fd);
        return std::nullopt;
    }
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    (void)!::write(fd, prompt.data(), prompt.size());
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
    std::string line;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n')
        line += c;
    ::tcsetattr(fd, TCSAFLUSH, &old);
    ::close(fd);
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    return line;
}

} // namespace keysat
