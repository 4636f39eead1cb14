#pragma once
// A Keysat 0.2.x database made for tests: the tables and columns of Keysat's schema at version 16
// or 25 (keysat_schema_v16.sql, keysat_schema_v25.sql), filled with rows whose license keys come
// from our own issuing code, signed with a fresh server key stored as Keysat stores it (PKCS#8
// PEM). It records what the tests compare after an import: each license's key as issued, what
// validating it must answer, the scoped keys' tokens by role, the secrets integrators hold.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace keysat::test {

struct KeysatFixtureOptions {
    int version = 25;     // 16 or 25
    std::int64_t now = 0; // times are set around it
    std::string btcpay_url = "http://127.0.0.1:9";
    std::string btcpay_api_key = "btcpay-api-key";
    std::string btcpay_store_id = "store-fixture";
    std::string btcpay_webhook_secret = "whsec-fixture";
    std::string pending_btcpay_invoice_id = "btcpay-pending-1"; // BTCPay's id of the pending one
    std::string zaprite_url = "http://127.0.0.1:9";
    std::string zaprite_api_key = "zaprite-api-key";
    std::string pending_zaprite_order_id = "zaprite-pending-1"; // Zaprite's id of the pending one
    std::string webhook_url = "http://127.0.0.1:9/hook";        // the outbound endpoint
    std::int64_t extra_licenses = 0; // more perpetual licenses with two machines each (bench)
};

// What validating a license must answer: ok, or the reason.
struct ExpectedLicense {
    std::string key;    // the LIC1 key Keysat gave the buyer
    std::string reason; // empty: valid
};

struct KeysatFixture {
    std::filesystem::path path;
    std::string public_key_hex;
    std::string public_key_pem;                      // server_keys.public_key_pem
    std::map<std::string, std::string> ids;          // name -> Keysat id of notable rows
    std::map<std::string, ExpectedLicense> licenses; // license id -> expectations
    std::map<std::string, std::string> tokens;       // role (or "revoked") -> ks_ token
    std::string endpoint_secret;                     // the outbound endpoint's secret
    std::string btcpay_provider_id;                  // where BTCPay posts its webhooks
    std::string zaprite_provider_id;                 // where Zaprite posts its webhooks
};

// Writes the database at `path` (which must not exist). Throws on failure.
KeysatFixture make_keysat_fixture(const std::filesystem::path& path,
                                  const KeysatFixtureOptions& options);

} // namespace keysat::test
