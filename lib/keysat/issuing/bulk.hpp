#pragma once
// Bulk issuance: CSV or JSON lines in, one ledger record per license out (JSON lines).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysat/issuing/ledger.hpp"

namespace keysat::issuing {

enum class InputFormat { csv, jsonl };
enum class KeepGoing { yes, no };

struct BulkOptions {
    InputFormat format = InputFormat::csv;
    std::optional<Uuid> default_product;
    std::int64_t now = 0;
    // With a namespace, license ids are UUID v5 of each line's idempotency key (reproducible);
    // without one they are random.
    std::optional<Uuid> ns;
};

// One input line, validated and ready to sign.
struct BulkItem {
    std::size_t line = 0;
    LedgerRecord record; // everything but key and key_id
};

struct BulkError {
    std::size_t line = 0;
    std::string field; // empty when the error is about the whole line
    std::string message;
};

struct BulkInput {
    std::vector<BulkItem> items;
    std::vector<BulkError> errors;
};

// Validates the whole input without keeping it, and returns every error in line order. Line
// numbers count physical lines from 1 (the CSV header is line 1); blank lines are skipped; a
// repeated idempotency key or license id is an error.
std::vector<BulkError> check_bulk_input(std::string_view input, const BulkOptions& options);

// Reads the input again and hands each valid item to `sink` in input order, skipping the lines
// named in `skip` (the errors from check_bulk_input). Memory stays flat in the input size.
// Without a namespace, license ids are random: they differ from those of check_bulk_input.
void for_each_bulk_item(std::string_view input, const BulkOptions& options,
                        const std::vector<BulkError>& skip,
                        const std::function<void(BulkItem&)>& sink);

// Both of the above, keeping every item (for tests and small inputs).
BulkInput parse_bulk_input(std::string_view input, const BulkOptions& options);

// Signs one item and returns its ledger line (without newline).
Expected<std::string> sign_bulk_item(const crypto::SecretKey& key, BulkItem& item);

// Human text of an error: "line 3: days: must be a positive integer".
std::string describe(const BulkError& e);

} // namespace keysat::issuing
