#include "keysat/cli/issue_cli.hpp"

#include <iostream>

#include <fmt/format.h>

#include "keysat/cli/common.hpp"
#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/issuing/issue.hpp"
#include "keysat/issuing/keyfile.hpp"
#include "keysat/issuing/ledger.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/service/recorder.hpp"
#include "keysat/util/clock.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/file.hpp"
#include "keysat/util/terminal.hpp"

namespace keysat::cli {

namespace {

using issuing::SecretKey;

std::int64_t now_of(const IssueOptions& o) {
    return o.now ? *o.now : SystemClock().now();
}

// Writes NAME.key (0600) and NAME.pub; without --force neither may exist already.
Expected<int> write_key_pair(const IssueOptions& o, const SecretKey& key) {
    std::string key_path = o.output + ".key";
    std::string pub_path = o.output + ".pub";
    auto overwrite = o.force ? Overwrite::yes : Overwrite::no;
    if (!o.force) {
        std::error_code ec;
        for (const auto& p : {key_path, pub_path})
            if (std::filesystem::exists(p, ec))
                return usage_error(p + ": already exists (use --force to replace it)");
    }
    if (o.kdf != "sensitive" && o.kdf != "interactive")
        return usage_error("--kdf must be sensitive or interactive");
    std::string pass;
    if (!o.unencrypted) {
        KEYSAT_TRY_ASSIGN(p, new_passphrase(o.passphrase_file, "--unencrypted"));
        pass = std::move(p);
    }
    auto strength = o.kdf == "interactive" ? issuing::KdfStrength::interactive
                                           : issuing::KdfStrength::sensitive;
    auto text = issuing::format_secret_key_file(
        key, o.unencrypted ? issuing::Encrypt::no : issuing::Encrypt::yes, pass,
        issuing::kdf_limits(strength), o.comment);
    crypto::wipe(pass.data(), pass.size());
    if (!text)
        return std::unexpected(text.error());
    KEYSAT_TRY(write_file_atomic(key_path, *text, 0600, overwrite));
    crypto::wipe(text->data(), text->size());
    KEYSAT_TRY(write_file_atomic(
        pub_path, license::format_public_key(key.public_key(), license::PubkeyForm::minisign), 0644,
        overwrite));
    std::cerr << fmt::format("key id {}\nsecret key: {}\npublic key: {}\n",
                             crypto::key_id_text(key.key_id()), key_path, pub_path);
    return k_exit_ok;
}

Expected<int> run_keygen(const IssueOptions& o) {
    return write_key_pair(o, SecretKey::generate());
}

Expected<int> run_import(const IssueOptions& o) {
    int sources = !o.pkcs8_file.empty() + !o.seed_hex.empty() + !o.minisign_file.empty();
    if (sources != 1)
        return usage_error("give exactly one of --pkcs8, --seed-hex, --minisign");
    if (!o.pkcs8_file.empty()) {
        KEYSAT_TRY_ASSIGN(text, read_small_file(o.pkcs8_file, 64 * 1024));
        auto key = issuing::import_pkcs8_pem(text);
        crypto::wipe(text.data(), text.size());
        if (!key)
            return usage_error(o.pkcs8_file + ": " + key.error().message);
        return write_key_pair(o, *key);
    }
    if (!o.seed_hex.empty()) {
        KEYSAT_TRY_ASSIGN(hex, read_argument(o.seed_hex, false));
        auto key = issuing::import_seed_hex(hex);
        crypto::wipe(hex.data(), hex.size());
        if (!key)
            return usage_error("--seed-hex: " + key.error().message);
        return write_key_pair(o, *key);
    }
    KEYSAT_TRY_ASSIGN(key, load_secret_key(o.minisign_file, o.source_passphrase_file));
    return write_key_pair(o, key);
}

Expected<int> run_license(const IssueOptions& o) {
    KEYSAT_TRY_ASSIGN(key, load_secret_key(o.secret_key, o.passphrase_file));
    issuing::LicenseRequest req;
    KEYSAT_TRY_ASSIGN(product, parse_uuid_arg("--product", o.product));
    req.product_id = product;
    if (o.license_id.empty()) {
        req.license_id = crypto::uuid_v4();
    } else {
        KEYSAT_TRY_ASSIGN(lid, parse_uuid_arg("--license-id", o.license_id));
        req.license_id = lid;
    }
    req.issued_at = now_of(o);
    if (!o.expires.empty()) {
        auto t = parse_date_unix(o.expires);
        if (!t)
            return usage_error(fmt::format("--expires: '{}' is not a date YYYY-MM-DD", o.expires));
        req.expires_at = *t;
    } else if (o.days) {
        req.expires_at = req.issued_at + *o.days * 86400;
    }
    req.trial = o.trial;
    req.fingerprint = o.fingerprint;
    req.entitlements = o.entitlements;
    std::optional<service::IssueRecorder> recorder;
    if (!o.db.empty()) {
        KEYSAT_TRY_ASSIGN(r, service::IssueRecorder::open(o.db, key, req.issued_at));
        recorder.emplace(std::move(r));
        if (!o.id_key.empty()) {
            KEYSAT_TRY_ASSIGN(found, recorder->existing(o.id_key));
            if (found) {
                std::cerr << fmt::format("keysat-issue: id_key '{}' was already issued as license "
                                         "{}; printing that key\n",
                                         o.id_key, found->id);
                std::cout << found->license_key << '\n';
                return k_exit_ok;
            }
        }
    }
    KEYSAT_TRY_ASSIGN(lic, issuing::issue_license(key, req));
    issuing::LedgerRecord rec{
        req, lic, crypto::key_id_text(key.key_id()), std::nullopt, std::nullopt, o.seats, o.id_key};
    if (!o.email.empty())
        rec.email = o.email;
    if (recorder)
        KEYSAT_TRY(recorder->record(
            1, [&](std::size_t) -> const issuing::LedgerRecord& { return rec; }, req.issued_at));
    if (!o.ledger.empty())
        KEYSAT_TRY(append_line(o.ledger, issuing::format_ledger_record(rec)));
    std::cout << lic << '\n';
    return k_exit_ok;
}

Expected<int> run_token(const IssueOptions& o) {
    KEYSAT_TRY_ASSIGN(key, load_secret_key(o.secret_key, o.passphrase_file));
    license::TokenPayload p{o.product, o.channel_expiry, o.entitlements, std::nullopt};
    if (!o.version_floor.empty())
        p.version_floor = o.version_floor;
    KEYSAT_TRY_ASSIGN(token, issuing::issue_token(key, p));
    std::cout << token << '\n';
    return k_exit_ok;
}

Expected<int> run_sign(const IssueOptions& o) {
    if (!o.sig_file.empty() && o.files.size() != 1)
        return usage_error("-x/--sig-file needs exactly one FILE");
    KEYSAT_TRY_ASSIGN(key, load_secret_key(o.secret_key, o.passphrase_file));
    std::int64_t now = now_of(o);
    // Sign everything first: a bad FILE anywhere in the list leaves no signature written.
    std::vector<std::pair<std::string, std::string>> outputs;
    for (const auto& f : o.files) {
        KEYSAT_TRY_ASSIGN(
            sig, issuing::sign_file(key, f, o.legacy ? issuing::Prehash::no : issuing::Prehash::yes,
                                    o.trusted_comment, now));
        outputs.emplace_back(o.sig_file.empty() ? f + ".minisig" : o.sig_file,
                             license::format_signature_file(sig));
    }
    for (const auto& [path, text] : outputs)
        KEYSAT_TRY(write_file_atomic(path, text, 0644));
    return k_exit_ok;
}

Expected<int> run_pubkey(const IssueOptions& o) {
    KEYSAT_TRY_ASSIGN(key, load_secret_key(o.secret_key, o.passphrase_file));
    license::PubkeyForm form = o.format == "pem"      ? license::PubkeyForm::pem
                               : o.format == "hex"    ? license::PubkeyForm::hex
                               : o.format == "base64" ? license::PubkeyForm::base64
                                                      : license::PubkeyForm::minisign;
    std::cout << license::format_public_key(key.public_key(), form);
    return k_exit_ok;
}

CLI::App* signing_subcommand(CLI::App& app, IssueOptions& o, const char* name, const char* help) {
    auto* sub = app.add_subcommand(name, help);
    sub->add_option("-s,--secret-key", o.secret_key, "Secret key file (minisign format)")
        ->required()
        ->type_name("KEY");
    sub->add_option("--passphrase-file", o.passphrase_file,
                    "Read the key's passphrase from the first line of this file")
        ->type_name("FILE");
    return sub;
}

void key_output_options(CLI::App& sub, IssueOptions& o) {
    sub.add_option("-o,--output", o.output, "Write NAME.key and NAME.pub")
        ->capture_default_str()
        ->type_name("NAME");
    sub.add_flag("--unencrypted", o.unencrypted, "Store the secret key without a passphrase");
    sub.add_option("--passphrase-file", o.passphrase_file,
                   "Read the new key's passphrase from the first line of this file")
        ->type_name("FILE");
    sub.add_option("--comment", o.comment, "Untrusted comment of the secret key file")
        ->type_name("TEXT");
    sub.add_flag("-f,--force", o.force, "Replace existing key files");
    sub.add_option("--kdf", o.kdf,
                   "scrypt cost: sensitive (minisign's, about 1 GiB) or interactive (16 MiB)")
        ->capture_default_str()
        ->check(CLI::IsMember({"sensitive", "interactive"}))
        ->type_name("LEVEL");
}

void now_option(CLI::App& sub, IssueOptions& o) {
    sub.add_option("--now", o.now, "Issue time in unix seconds (default: the clock)")
        ->type_name("UNIX");
}

} // namespace

Expected<crypto::SecretKey> load_secret_key(const std::string& path,
                                            const std::string& passphrase_file) {
    KEYSAT_TRY_ASSIGN(text, read_small_file(path, 64 * 1024));
    auto key = issuing::parse_secret_key_file(text, [&] {
        return read_passphrase(passphrase_file, fmt::format("Passphrase for {}: ", path));
    });
    if (!key)
        return std::unexpected(Error{key.error().code, path + ": " + key.error().message});
    return key;
}

std::unique_ptr<CLI::App> make_issue_app(IssueOptions& o) {
    auto app = std::make_unique<CLI::App>(
        "Generate and import signing keys; sign license keys, download tokens and files. Exit "
        "status: 0 done, 1 invalid input, 2 usage or environment error.",
        "keysat-issue");
    add_version_flag(*app);
    app->require_subcommand(1);

    auto* keygen = app->add_subcommand("keygen", "Generate a new signing key pair");
    key_output_options(*keygen, o);

    auto* imp = app->add_subcommand("import", "Import a secret key from another system");
    imp->add_option("--pkcs8", o.pkcs8_file, "PKCS#8 PEM Ed25519 private key (Keysat's server key)")
        ->type_name("FILE");
    imp->add_option("--seed-hex", o.seed_hex, "32-byte seed as 64 hex characters, or - for stdin")
        ->type_name("HEX");
    imp->add_option("--minisign", o.minisign_file, "minisign secret key file")->type_name("FILE");
    imp->add_option("--source-passphrase-file", o.source_passphrase_file,
                    "Passphrase of an encrypted minisign key being imported")
        ->type_name("FILE");
    key_output_options(*imp, o);

    auto* lic = signing_subcommand(*app, o, "license", "Sign one LIC1 license key");
    lic->add_option("--product", o.product, "Product UUID")->required()->type_name("UUID");
    lic->add_option("--license-id", o.license_id, "License UUID (default: a random one)")
        ->type_name("UUID");
    auto* expires = lic->add_option("--expires", o.expires, "Expiry date YYYY-MM-DD (00:00 UTC)")
                        ->type_name("DATE");
    lic->add_option("--days", o.days, "Expire N days after the issue time")
        ->type_name("N")
        ->check(CLI::Range(1, 36500))
        ->excludes(expires);
    lic->add_flag("--trial", o.trial, "Mark the license as a trial");
    lic->add_option("-e,--entitlement", o.entitlements, "Entitlement slug (repeatable)")
        ->type_name("SLUG");
    lic->add_option("--fingerprint", o.fingerprint, "Bind the key to this machine fingerprint")
        ->type_name("FP");
    lic->add_option("--seats", o.seats, "Machine seats, recorded in the ledger")
        ->type_name("N")
        ->check(CLI::Range(1, 1000000));
    lic->add_option("--email", o.email, "Buyer email, recorded in the ledger")->type_name("EMAIL");
    lic->add_option("--ledger", o.ledger, "Append the issuance record to this JSONL file")
        ->type_name("FILE");
    lic->add_option("--db", o.db, "Record the license in this database")->type_name("FILE");
    lic->add_option("--id-key", o.id_key,
                    "Idempotency key: with --db, an existing license under it is printed instead")
        ->type_name("KEY");
    now_option(*lic, o);

    auto* tok = signing_subcommand(*app, o, "token", "Sign one download token");
    tok->add_option("--product", o.product, "Product slug")->required()->type_name("SLUG");
    tok->add_option("--channel-expiry", o.channel_expiry,
                    "Last day (UTC) the token opens the channel, YYYY-MM-DD")
        ->required()
        ->type_name("DATE");
    tok->add_option("-e,--entitlement", o.entitlements, "Entitlement (repeatable)")
        ->type_name("SLUG");
    tok->add_option("--version-floor", o.version_floor, "Lowest version x.y.z the token opens")
        ->type_name("VERSION");

    auto* sign = signing_subcommand(*app, o, "sign", "Sign files, writing FILE.minisig");
    sign->add_option("-t,--trusted-comment", o.trusted_comment,
                     "Trusted comment (default: timestamp, file name, hashed)")
        ->type_name("TEXT");
    sign->add_flag("--legacy", o.legacy, "Legacy \"Ed\" signature over the raw file");
    sign->add_option("-x,--sig-file", o.sig_file, "Signature file (one FILE only)")
        ->type_name("SIGFILE");
    now_option(*sign, o);
    sign->add_option("files", o.files, "Files to sign")->required()->type_name("FILE");

    auto* pub = signing_subcommand(*app, o, "pubkey", "Print the public key of a secret key");
    pub->add_option("--format", o.format, "Output form")
        ->capture_default_str()
        ->check(CLI::IsMember({"minisign", "pem", "hex", "base64"}))
        ->type_name("FORM");

    auto* bulk = signing_subcommand(*app, o, "bulk",
                                    "Sign one license per input line (CSV or JSON lines on "
                                    "stdin; ledger JSON lines on stdout)");
    bulk->add_option("--product", o.product, "Default product UUID for lines without one")
        ->type_name("UUID");
    bulk->add_option("--input-format", o.input_format, "Input format")
        ->capture_default_str()
        ->check(CLI::IsMember({"csv", "jsonl"}))
        ->type_name("FORMAT");
    now_option(*bulk, o);
    bulk->add_option("--namespace", o.ns,
                     "Derive license ids as UUID v5 of each line's id_key in this namespace")
        ->type_name("UUID");
    bulk->add_option("--db", o.db,
                     "Record every license in this database; lines already recorded (same "
                     "id_key) are skipped")
        ->type_name("FILE");
    bulk->add_option("-j,--jobs", o.jobs, "Signing threads (default 0: one per core)")
        ->type_name("N")
        ->check(CLI::Range(0, 256));
    bulk->add_flag("--keep-going", o.keep_going,
                   "Issue the good lines and report the bad ones (exit 1)");
    // Shared by every subcommand, so also accepted before it.
    app->add_option("--passphrase-file", o.passphrase_file,
                    "Passphrase file: of the key read (license, token, sign, pubkey, bulk) or of "
                    "the key written (keygen, import)")
        ->type_name("FILE");
    return app;
}

int issue_main(int argc, char** argv) {
    IssueOptions o;
    auto app = make_issue_app(o);
    return run_program(*app, argc, argv, [&]() -> Expected<int> {
        const std::string& name = app->get_subcommands().front()->get_name();
        if (name == "keygen")
            return run_keygen(o);
        if (name == "import")
            return run_import(o);
        if (name == "license")
            return run_license(o);
        if (name == "token")
            return run_token(o);
        if (name == "sign")
            return run_sign(o);
        if (name == "pubkey")
            return run_pubkey(o);
        return run_bulk(o);
    });
}

} // namespace keysat::cli
