#pragma once
// Switching from Keysat: a Keysat 0.2.x SQLite database (schema versions 16 to 25 of its sqlx
// migrations) copied into ours in one transaction, keeping every id, with each license's LIC1 key
// rebuilt from its row and signed again with Keysat's own key (Ed25519 is deterministic, so the
// text is the one Keysat gave the buyer).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keysat/crypto/signing.hpp"
#include "keysat/db/database.hpp"
#include "keysat/util/error.hpp"

namespace keysat::service {

// The Keysat schema versions the import knows: the tables and columns of these versions are read.
inline constexpr int k_keysat_oldest_version = 16;
inline constexpr int k_keysat_newest_version = 25;

// What the source is, read before anything is written.
struct KeysatSource {
    std::filesystem::path path;
    int version = 0;             // the highest applied sqlx migration
    std::string private_key_pem; // server_keys row 1 (PKCS#8), kept only as long as needed
    std::string public_key_pem;
};

// Opens `path` read-only and checks that it is a Keysat database of a known version (an error
// naming what it is instead, or the versions this build knows).
Expected<KeysatSource> read_keysat_source(const std::filesystem::path& path);

// Keysat's server key, checked against the public key stored beside it. Its key id is
// `key_id` when given (the key file already written), else a new random one.
Expected<crypto::SecretKey> keysat_signing_key(const KeysatSource& source,
                                               const std::optional<crypto::KeyId>& key_id);

enum class ImportMode { apply, dry_run };
enum class OnBadRow { stop, keep_going };

struct ImportProblem {
    std::string table; // Keysat's table
    std::string id;
    std::string reason;
};

struct ImportCount {
    std::string table; // our table
    std::int64_t rows = 0;
};

struct KeysatImportReport {
    int source_version = 0;
    bool already_imported = false; // the target holds this import already: nothing changed
    bool stopped = false;          // rows could not be mapped and keep_going was not asked for
    std::vector<ImportCount> counts;
    std::vector<ImportProblem> problems;  // rows not imported: the first 1,000
    std::size_t problem_count = 0;        // all of them
    std::vector<std::string> not_carried; // what Keysat holds that has no place here, and why
};

// Called every few thousand licenses with (done, total).
using ImportProgress = std::function<void(std::int64_t, std::int64_t)>;

// Copies the source into `target` (at our latest schema) in one transaction. Refuses, changing
// nothing, a target that holds other data; a target that holds this same import is reported as
// already imported. A row that cannot be mapped stops the import (an error naming the table, the
// id and the reason) unless `on_bad` is keep_going, which leaves it and the rows that depend on
// it out and lists them. A dry run does all the work and rolls it back. `before_commit` runs
// last, inside the transaction (the key file is written there: an error rolls everything back).
Expected<KeysatImportReport>
import_keysat(db::Database& target, const KeysatSource& source, const crypto::SecretKey& key,
              ImportMode mode, OnBadRow on_bad, std::int64_t now,
              const ImportProgress& progress = {},
              const std::function<Expected<void>()>& before_commit = {});

} // namespace keysat::service
