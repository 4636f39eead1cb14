#pragma once
// Release gate test fixtures: a releases tree with planted links out of it, signing keys, and a
// keysat-serve running the gate; raw HTTP for requests no client library would send.

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/server_process.hpp"
#include "support/support.hpp"

namespace keysat::test {

inline constexpr const char* k_platform = "x86_64-unknown-linux-gnu";
// The content of files outside the releases tree that no request may ever read.
inline constexpr const char* k_secret = "TOP-SECRET-7f3a9c0d";

struct GateFixture {
    TempDir dir;
    std::string build; // app 1.10.0's Linux build: 3 MiB and a bit of fixed pseudo-random bytes
    std::unique_ptr<ServerProcess> server;

    // Makes two key pairs (k: trusted, other: not), the tree, and signs the build with k.
    GateFixture();
    // Starts keysat-serve in verify-only mode over the tree (KEYSAT_* variables) plus `env`;
    // with `default_env` false only `env` is passed.
    void start(std::vector<std::string> env = {}, bool default_env = true);

    std::filesystem::path releases() const { return dir / "releases"; }
    std::filesystem::path pub() const { return dir / "k.pub"; }
    std::filesystem::path key() const { return dir / "k.key"; }
    std::filesystem::path other_key() const { return dir / "other.key"; }
    std::filesystem::path revocations() const { return dir / "revoked"; }
    std::filesystem::path build_path() const;
    std::string build_sha256() const;

    // A download token signed by `signer` (default: the trusted key).
    std::string token(const std::string& product, const std::string& expiry = "2099-12-31",
                      const std::filesystem::path& signer = {}) const;
    // A LIC1 key for the product with this slug, recorded in the server's database: (key, id).
    std::pair<std::string, std::string> license(const std::string& slug,
                                                const std::vector<std::string>& extra = {});
};

struct RawResponse {
    int status = 0; // 0: no HTTP answer
    std::string head;
    std::string body;
    std::string raw;
};

// Sends `request` as it is over a new connection and reads the answer until the server closes.
RawResponse raw_request(int port, const std::string& request);
// GET (or `method`) of a raw request target with Connection: close and optional extra headers.
RawResponse raw_get(int port, const std::string& target, const std::string& extra_headers = "",
                    const std::string& method = "GET");

} // namespace keysat::test
