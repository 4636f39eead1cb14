#pragma once
// Errors inside the library: std::expected<T, Error>, never exceptions, never exit().

#include <expected>
#include <string>
#include <utility>

namespace keysat {

// What went wrong, which also decides a program's exit code (see STYLE.md).
enum class Errc {
    invalid = 1, // the thing checked is not valid: bad signature, expired, malformed input
    usage = 2,   // bad arguments, unreadable file, missing passphrase: environment or usage
    needs_migrate = 3,
};

struct Error {
    Errc code = Errc::usage;
    std::string message;
};

template <typename T> using Expected = std::expected<T, Error>;

// Shorthands for returning an error.
inline std::unexpected<Error> invalid(std::string message) {
    return std::unexpected(Error{Errc::invalid, std::move(message)});
}
inline std::unexpected<Error> usage_error(std::string message) {
    return std::unexpected(Error{Errc::usage, std::move(message)});
}

} // namespace keysat

// Evaluate an Expected; on error return it from the enclosing function.
#define KEYSAT_TRY(expr)                                                                           \
    do {                                                                                           \
        if (auto keysat_try_result_ = (expr); !keysat_try_result_)                                 \
            return std::unexpected(std::move(keysat_try_result_.error()));                         \
    } while (false)

// Evaluate an Expected<T> and move its value into a new variable `var`, or return its error.
#define KEYSAT_TRY_ASSIGN(var, expr)                                                               \
    auto var##_expected_ = (expr);                                                                 \
    if (!var##_expected_)                                                                          \
        return std::unexpected(std::move(var##_expected_.error()));                                \
    auto var = std::move(*var##_expected_)
