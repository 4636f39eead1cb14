#pragma once
// keysat-issue: key generation and import, and signing of license keys, download tokens, files
// and bulk batches.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "keysat/crypto/signing.hpp"
#include "keysat/util/error.hpp"

namespace keysat::cli {

struct IssueOptions {
    // Shared by the signing subcommands.
    std::string secret_key;
    std::string passphrase_file;
    std::optional<std::int64_t> now;
    std::vector<std::string> entitlements;
    std::string product;

    // keygen and import
    std::string output = "keysat";
    bool unencrypted = false;
    std::string comment;
    bool force = false;
    std::string kdf = "sensitive";
    std::string pkcs8_file;
    std::string seed_hex;
    std::string minisign_file;
    std::string source_passphrase_file;

    // license
    std::string license_id;
    std::string expires;
    std::optional<std::int64_t> days;
    bool trial = false;
    std::optional<std::string> fingerprint;
    std::optional<std::int64_t> seats;
    std::string email;
    std::string ledger;
    std::string db;     // record issued licenses in this database
    std::string id_key; // license: idempotency key for --db

    // token
    std::string channel_expiry;
    std::string version_floor;

    // sign
    std::string trusted_comment;
    bool legacy = false;
    std::string sig_file;
    std::vector<std::string> files;

    // pubkey
    std::string format = "minisign";

    // bulk
    std::string input_format = "csv";
    std::string ns;
    bool keep_going = false;
    unsigned jobs = 0; // 0: one per core
};

// Builds the command line of keysat-issue into `opts` (also used to generate docs).
std::unique_ptr<CLI::App> make_issue_app(IssueOptions& opts);

// The whole program.
int issue_main(int argc, char** argv);

// Reads a secret key file, asking for its passphrase only if it is encrypted.
Expected<crypto::SecretKey> load_secret_key(const std::string& path,
                                            const std::string& passphrase_file);

// `bulk`, in its own file.
Expected<int> run_bulk(const IssueOptions& o);

} // namespace keysat::cli
