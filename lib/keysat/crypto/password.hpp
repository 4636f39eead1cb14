#pragma once
// The operator's console password: an Argon2id hash in libsodium's self-describing string form
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash), so the cost can be raised later without a
// schema change.

#include <optional>
#include <string>
#include <string_view>

namespace keysat::crypto {

// Accepted lengths of a console password, in bytes.
constexpr std::size_t k_password_min = 12;
constexpr std::size_t k_password_max = 1024;

// The hash of `password` at libsodium's interactive cost (64 MiB, 2 passes); nullopt when the
// memory cannot be had.
std::optional<std::string> hash_password(std::string_view password);

// Whether `password` matches `hash` (a string hash_password made). Constant time in the
// password; false for a malformed hash.
bool verify_password(std::string_view hash, std::string_view password);

} // namespace keysat::crypto
