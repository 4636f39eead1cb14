// Writes the signed seed inputs of the fuzz corpora: license keys, download tokens, minisign
// signatures and ledger records signed by the fixed seed key (fuzz_support.cpp). Ed25519 is
// deterministic, so the output is the same on every run:
//
//     build-fuzz/tests/fuzz/keysat_fuzz_make_seeds tests/fuzz/corpus
//
// writes <corpus>/<target>/gen-*.

#include <filesystem>
#include <fstream>
#include <iostream>

#include "fuzz_support.hpp"
#include "keysat/issuing/bulk.hpp"
#include "keysat/issuing/issue.hpp"
#include "keysat/issuing/keyfile.hpp"
#include "keysat/util/encoding.hpp"

using namespace keysat;
namespace fs = std::filesystem;

namespace {

fs::path g_out;

void put(const std::string& target, const std::string& name, const std::string& content) {
    fs::create_directories(g_out / target);
    std::ofstream(g_out / target / ("gen-" + name), std::ios::binary) << content;
}

template <typename T> T must(Expected<T> v) {
    if (!v) {
        std::cerr << "make_seeds: " << v.error().message << "\n";
        std::exit(1);
    }
    return std::move(*v);
}

Uuid uuid(const char* text) {
    return *Uuid::parse(text);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: keysat_fuzz_make_seeds CORPUS_DIR\n";
        return 2;
    }
    g_out = argv[1];
    const auto& key = fuzz::seed_key();
    const Uuid product = uuid("6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0");

    // License keys: perpetual, expiring, trial with entitlements, fingerprint-bound.
    issuing::LicenseRequest base;
    base.product_id = product;
    base.license_id = uuid("11111111-2222-4333-8444-555555555555");
    base.issued_at = 1700000000;
    put("lic1", "perpetual", must(issuing::issue_license(key, base)));
    auto expiring = base;
    expiring.expires_at = 1900000000;
    expiring.entitlements = {"pro", "multi-device"};
    put("lic1", "expiring", must(issuing::issue_license(key, expiring)));
    auto bound = expiring;
    bound.trial = true;
    bound.fingerprint = "test-machine-fingerprint";
    put("lic1", "trial-bound", must(issuing::issue_license(key, bound)));
    auto expired = base;
    expired.expires_at = 1710000000;
    put("lic1", "expired", must(issuing::issue_license(key, expired)));

    // Download tokens: with and without a version floor, expired, many entitlements.
    license::TokenPayload tp{"app", "2030-12-31", {"pro"}, std::nullopt};
    put("token", "plain", must(issuing::issue_token(key, tp)));
    tp.version_floor = "1.2.0";
    put("token", "floor", must(issuing::issue_token(key, tp)));
    tp.channel_expiry = "2024-02-29";
    put("token", "expired", must(issuing::issue_token(key, tp)));
    license::TokenPayload other{"other-product", "2099-01-01", {"a", "b", "c"}, "0.0.1"};
    put("token", "other-product", must(issuing::issue_token(key, other)));
    // A signed payload with an unknown field (readers ignore it).
    std::string extra = R"({"product":"app","channel_expiry":"2030-01-01","entitlements":[],)"
                        R"("version_floor":null,"kid":"x"})";
    put("token", "extra-field", license::format_token(key.sign(as_bytes(extra)), extra));

    // minisign signatures of "hello minisign\n" (the fuzz target's message), both kinds.
    fs::path msg = g_out / "msg.tmp";
    std::ofstream(msg, std::ios::binary) << "hello minisign\n";
    auto hashed = must(issuing::sign_file(key, msg, issuing::Prehash::yes, "", 1700000000));
    put("minisig", "prehashed", license::format_signature_file(hashed));
    auto legacy = must(issuing::sign_file(key, msg, issuing::Prehash::no, "legacy", 1700000000));
    put("minisig", "legacy", license::format_signature_file(legacy));
    fs::remove(msg);

    // Public keys of the seed key in every form.
    const auto& pub = key.public_key();
    put("pubkey", "minisign", license::format_public_key(pub, license::PubkeyForm::minisign));
    put("pubkey", "base64", license::format_public_key(pub, license::PubkeyForm::base64));
    put("pubkey", "pem", license::format_public_key(pub, license::PubkeyForm::pem));
    put("pubkey", "hex", license::format_public_key(pub, license::PubkeyForm::hex));

    // The seed key as an unencrypted minisign secret key file, a PKCS#8 PEM and a hex seed.
    put("keyfile", "minisign-unencrypted",
        must(issuing::format_secret_key_file(key, issuing::Encrypt::no, "",
                                             issuing::kdf_limits(issuing::KdfStrength::interactive),
                                             "fuzz seed key")));
    Bytes der{0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
              0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    auto secret = key.secret_bytes();
    der.insert(der.end(), secret.begin(), secret.begin() + 32);
    put("keyfile", "pkcs8.pem",
        "-----BEGIN PRIVATE KEY-----\n" + base64_encode(der) + "\n-----END PRIVATE KEY-----\n");
    put("keyfile", "seed.hex", hex_encode(ByteView(secret.data(), 32)) + "\n");

    // Ledger records as keysat-issue bulk writes them.
    std::string csv = "product,email,days,entitlements,trial,seats,fingerprint,id_key,policy\n"
                      "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0,a@example.com,30,pro;team,false,3,,"
                      "order-1,\n"
                      "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0,b@example.com,,,true,,fp-1,order-2,\n"
                      "6f46a4f6-0d2f-4a28-b6aa-3e8fbf6f28f0,,365,x,no,1,,order-3,\n";
    issuing::BulkOptions o;
    o.now = 1700000000;
    o.ns = product;
    auto in = issuing::parse_bulk_input(csv, o);
    if (!in.errors.empty()) {
        std::cerr << "make_seeds: " << issuing::describe(in.errors[0]) << "\n";
        return 1;
    }
    std::string all;
    for (std::size_t i = 0; i < in.items.size(); ++i) {
        std::string line = must(issuing::sign_bulk_item(key, in.items[i]));
        put("ledger", "record-" + std::to_string(i + 1), line + "\n");
        all += line + "\n";
    }
    put("ledger", "three-records", all);
    put("ledger", "repeated", all + "\n" + all);
    return 0;
}
