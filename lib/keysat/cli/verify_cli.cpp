#include "keysat/cli/verify_cli.hpp"

#include <charconv>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/cli/common.hpp"
#include "keysat/crypto/hash.hpp"
#include "keysat/license/lic1.hpp"
#include "keysat/license/minisig.hpp"
#include "keysat/license/token.hpp"
#include "keysat/util/clock.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/file.hpp"

namespace keysat::cli {

namespace {

using nlohmann::json;

std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// --at: a date (its first second, UTC) or unix seconds; default: now.
Expected<std::int64_t> resolve_time(const std::string& at) {
    if (at.empty())
        return SystemClock().now();
    if (auto t = parse_date_unix(at))
        return *t;
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(at.data(), at.data() + at.size(), v);
    if (ec == std::errc() && end == at.data() + at.size() && v >= 0)
        return v;
    return usage_error(fmt::format("--at: '{}' is not a date YYYY-MM-DD or unix seconds", at));
}

std::string key_label(const license::Keyring& ring, std::size_t index) {
    const auto& k = ring.keys[index];
    std::string id = k.key_id ? crypto::key_id_text(*k.key_id) : hex_encode(k.bytes).substr(0, 16);
    return ring.keys.size() == 1
               ? id
               : fmt::format("{} (key {} of {})", id, index + 1, ring.keys.size());
}

json license_json(const license::LicensePayload& p) {
    json j;
    j["version"] = p.version;
    j["flags"] = p.flags;
    j["product_id"] = p.product_id.to_string();
    j["license_id"] = p.license_id.to_string();
    j["issued_at"] = p.issued_at;
    j["expires_at"] = p.expires_at;
    j["trial"] = p.trial();
    j["fingerprint_bound"] = p.fingerprint_bound();
    j["fingerprint_sha256"] = hex_encode(p.fingerprint_hash);
    j["entitlements"] = p.entitlements;
    return j;
}

void print_license(const license::LicensePayload& p) {
    fmt::print("  version       {}\n", p.version);
    fmt::print("  product       {}\n", p.product_id.to_string());
    fmt::print("  license       {}\n", p.license_id.to_string());
    fmt::print("  issued        {}\n", format_timestamp(static_cast<std::int64_t>(p.issued_at)));
    fmt::print("  expires       {}\n",
               p.expires_at == 0 ? "never"
                                 : format_timestamp(static_cast<std::int64_t>(p.expires_at)));
    fmt::print("  trial         {}\n", p.trial() ? "yes" : "no");
    fmt::print("  fingerprint   {}\n", p.fingerprint_bound()
                                           ? "bound, sha256 " + hex_encode(p.fingerprint_hash)
                                           : std::string("not bound"));
    fmt::print("  entitlements  {}\n", p.entitlements.empty()
                                           ? "(none)"
                                           : fmt::format("{}", fmt::join(p.entitlements, ", ")));
}

json token_json(const license::DecodedToken& t) {
    json j;
    j["product"] = t.payload.product;
    j["channel_expiry"] = t.payload.channel_expiry;
    j["entitlements"] = t.payload.entitlements;
    j["version_floor"] = t.payload.version_floor ? json(*t.payload.version_floor) : json(nullptr);
    return j;
}

void print_token(const license::DecodedToken& t, std::string_view token) {
    fmt::print("  product         {}\n", t.payload.product);
    fmt::print("  channel expiry  {} (valid through the end of that day, UTC)\n",
               t.payload.channel_expiry);
    fmt::print("  entitlements    {}\n",
               t.payload.entitlements.empty()
                   ? "(none)"
                   : fmt::format("{}", fmt::join(t.payload.entitlements, ", ")));
    fmt::print("  version floor   {}\n", t.payload.version_floor.value_or("(none)"));
    fmt::print("  revocation id   {}\n", license::token_revocation_id(token));
}

// Reports an invalid result: JSON on stdout with --json, otherwise the reason on stderr.
int report_invalid(const VerifyOptions& o, std::string_view kind, const Error& e) {
    if (e.code != Errc::invalid) {
        std::cerr << "keysat-verify: " << e.message << '\n';
        return static_cast<int>(e.code);
    }
    if (o.json)
        std::cout << dump({{"valid", false}, {"kind", kind}, {"error", e.message}}) << '\n';
    else
        std::cerr << "keysat-verify: not valid: " << e.message << '\n';
    return k_exit_invalid;
}

Expected<int> run_license(const VerifyOptions& o) {
    KEYSAT_TRY_ASSIGN(ring, license::load_keyring(o.pubkeys));
    KEYSAT_TRY_ASSIGN(text, read_argument(o.input, false));
    license::LicenseCheck check;
    KEYSAT_TRY_ASSIGN(now, resolve_time(o.at));
    check.now = now;
    if (!o.product_id.empty()) {
        KEYSAT_TRY_ASSIGN(pid, parse_uuid_arg("--product-id", o.product_id));
        check.product_id = pid;
    }
    if (!o.fingerprint.empty())
        check.fingerprint = o.fingerprint;
    auto v = license::verify_license_key(text, ring, check);
    if (!v)
        return report_invalid(o, "license", v.error());
    if (o.json) {
        json j = license_json(v->payload);
        j["valid"] = true;
        j["kind"] = "license";
        j["signed_by"] = key_label(ring, v->key_index);
        std::cout << dump(j) << '\n';
    } else {
        fmt::print("valid license, signed by {}\n", key_label(ring, v->key_index));
        print_license(v->payload);
    }
    return k_exit_ok;
}

Expected<int> run_token(const VerifyOptions& o) {
    KEYSAT_TRY_ASSIGN(ring, license::load_keyring(o.pubkeys));
    KEYSAT_TRY_ASSIGN(raw, read_argument(o.input, false));
    // Only surrounding whitespace from a file or pipe is dropped; the token itself is hashed
    // exactly as transmitted for revocation checks.
    std::string token(trim(raw));
    license::TokenCheck check;
    KEYSAT_TRY_ASSIGN(now, resolve_time(o.at));
    check.now = now;
    if (!o.product.empty())
        check.product = o.product;
    if (!o.revoked_file.empty()) {
        KEYSAT_TRY_ASSIGN(list_text, read_small_file(o.revoked_file, 64 << 20));
        auto list = license::parse_revocation_list(list_text);
        if (!list)
            return usage_error(o.revoked_file + ": " + list.error().message);
        check.revoked = std::move(*list);
    }
    auto v = license::verify_token(token, ring, check);
    if (!v)
        return report_invalid(o, "token", v.error());
    if (o.json) {
        json j = token_json(v->token);
        j["valid"] = true;
        j["kind"] = "token";
        j["signed_by"] = key_label(ring, v->key_index);
        j["revocation_id"] = license::token_revocation_id(token);
        std::cout << dump(j) << '\n';
    } else {
        fmt::print("valid download token, signed by {}\n", key_label(ring, v->key_index));
        print_token(v->token, token);
    }
    return k_exit_ok;
}

Expected<int> run_file(const VerifyOptions& o) {
    KEYSAT_TRY_ASSIGN(ring, license::load_keyring(o.pubkeys));
    std::string sig_path = o.sig_file.empty() ? o.file + ".minisig" : o.sig_file;
    KEYSAT_TRY_ASSIGN(sig_text, read_small_file(sig_path, 64 * 1024));
    auto sig = license::parse_signature_file(sig_text);
    if (!sig)
        return report_invalid(o, "file",
                              Error{Errc::invalid, sig_path + ": " + sig.error().message});
    auto v = license::verify_file(o.file, *sig, ring);
    if (!v)
        return report_invalid(o, "file", v.error());
    if (o.json) {
        json j{{"valid", true},
               {"kind", "file"},
               {"file", o.file},
               {"algorithm", sig->alg == license::SigAlg::prehashed ? "ED" : "Ed"},
               {"key_id", crypto::key_id_text(sig->key_id)},
               {"signed_by", key_label(ring, v->key_index)},
               {"trusted_comment", sig->trusted_comment}};
        std::cout << dump(j) << '\n';
    } else {
        fmt::print("Signature and comment signature verified\nTrusted comment: {}\n",
                   sig->trusted_comment);
    }
    return k_exit_ok;
}

Expected<int> run_inspect(const VerifyOptions& o) {
    KEYSAT_TRY_ASSIGN(raw, read_argument(o.input, true));
    std::string_view text = trim(raw);
    json j{{"verified", false}};
    bool human = !o.json;
    if (human)
        fmt::print("UNVERIFIED: decoded without checking any signature; do not trust these "
                   "fields.\n");
    if (text.size() >= 5 && (text.substr(0, 5) == "LIC1-" || text.substr(0, 5) == "lic1-")) {
        auto d = license::decode_license_key(text, license::Strictness::lenient);
        if (!d)
            return report_invalid(o, "license", d.error());
        j.update(license_json(d->payload));
        j["kind"] = "license";
        j["unknown_extension_bytes"] = d->extension_bytes;
        j["unknown_flags"] = d->unknown_flags;
        j["signature"] = hex_encode(d->signature);
        if (human) {
            fmt::print("license key\n");
            print_license(d->payload);
            if (d->extension_bytes != 0)
                fmt::print("  unknown extension bytes: {}\n", d->extension_bytes);
            if (d->unknown_flags != 0)
                fmt::print("  unknown flag bits: 0x{:02x}\n", d->unknown_flags);
        }
    } else if (text.starts_with("untrusted comment:")) {
        auto s = license::parse_signature_file(text);
        if (!s)
            return report_invalid(o, "signature", s.error());
        j["kind"] = "signature";
        j["algorithm"] = s->alg == license::SigAlg::prehashed ? "ED" : "Ed";
        j["key_id"] = crypto::key_id_text(s->key_id);
        j["untrusted_comment"] = s->untrusted_comment;
        j["trusted_comment"] = s->trusted_comment;
        if (human)
            fmt::print("minisign signature\n  algorithm        {}\n  key id           {}\n  "
                       "trusted comment  {}\n",
                       s->alg == license::SigAlg::prehashed ? "ED (BLAKE2b-512 prehash)"
                                                            : "Ed (legacy, raw file)",
                       crypto::key_id_text(s->key_id), s->trusted_comment);
    } else {
        auto t = license::decode_token(text);
        if (!t)
            return report_invalid(
                o, "unknown",
                Error{Errc::invalid,
                      "not a license key, signature file or download token: " + t.error().message});
        j.update(token_json(*t));
        j["kind"] = "token";
        j["revocation_id"] = license::token_revocation_id(text);
        if (human) {
            fmt::print("download token\n");
            print_token(*t, text);
        }
    }
    if (!human)
        std::cout << dump(j) << '\n';
    return k_exit_ok;
}

void add_pubkey_option(CLI::App& sub, VerifyOptions& o) {
    sub.add_option("-p,-P,--pubkey", o.pubkeys,
                   "Trusted public key: a file or the key inline (minisign file or line, SPKI "
                   "PEM, 64 hex). Repeat for a keyring")
        ->type_name("KEY")
        ->envname("KEYSAT_PUBKEY");
}

void add_json_flag(CLI::App& sub, VerifyOptions& o) {
    sub.add_flag("--json", o.json, "Print one JSON object on standard output");
}

} // namespace

std::unique_ptr<CLI::App> make_verify_app(VerifyOptions& o) {
    auto app = std::make_unique<CLI::App>(
        "Check license keys, download tokens and signed files offline. Exit status: 0 valid, "
        "1 not valid, 2 usage or environment error.",
        "keysat-verify");
    add_version_flag(*app);
    app->require_subcommand(1);

    auto* lic = app->add_subcommand("license", "Verify a LIC1 license key");
    add_pubkey_option(*lic, o);
    lic->add_option("--product-id", o.product_id, "Require this product UUID")->type_name("UUID");
    lic->add_option("--fingerprint", o.fingerprint,
                    "Require the key to be bound to this raw machine fingerprint")
        ->type_name("FP");
    lic->add_option("--at", o.at,
                    "Check validity at this date (YYYY-MM-DD, 00:00 UTC) or unix time")
        ->type_name("DATE");
    add_json_flag(*lic, o);
    lic->add_option("key", o.input, "The license key, or - to read it from standard input")
        ->required()
        ->type_name("KEY");

    auto* tok = app->add_subcommand("token", "Verify a download token");
    add_pubkey_option(*tok, o);
    tok->add_option("--product", o.product, "Require this product slug")->type_name("SLUG");
    tok->add_option("--at", o.at,
                    "Check validity at this date (YYYY-MM-DD, 00:00 UTC) or unix time")
        ->type_name("DATE");
    tok->add_option("--revoked", o.revoked_file,
                    "Revocation list: SHA-256 hex of revoked tokens, one per line")
        ->type_name("FILE");
    add_json_flag(*tok, o);
    tok->add_option("token", o.input, "The token, or - to read it from standard input")
        ->required()
        ->type_name("TOKEN");

    auto* file = app->add_subcommand("file", "Verify a file against its minisign signature");
    add_pubkey_option(*file, o);
    file->add_option("-x,--sig", o.sig_file, "Signature file (default: FILE.minisig)")
        ->type_name("SIGFILE");
    add_json_flag(*file, o);
    file->add_option("file", o.file, "The signed file")->required()->type_name("FILE");

    auto* insp = app->add_subcommand(
        "inspect", "Decode a license key, token or signature file without verifying it");
    add_json_flag(*insp, o);
    insp->add_option("input", o.input, "Key, token, signature file, or - for standard input")
        ->required()
        ->type_name("INPUT");
    // Shared by every subcommand, so also accepted before it (keysat-verify --json file F).
    add_json_flag(*app, o);
    return app;
}

int verify_main(int argc, char** argv) {
    VerifyOptions o;
    auto app = make_verify_app(o);
    return run_program(*app, argc, argv, [&]() -> Expected<int> {
        auto* sub = app->get_subcommands().front();
        const std::string& name = sub->get_name();
        if (name == "license")
            return run_license(o);
        if (name == "token")
            return run_token(o);
        if (name == "file")
            return run_file(o);
        return run_inspect(o);
    });
}

} // namespace keysat::cli
