#include "keysat/license/pubkey.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "keysat/license/text_lines.hpp"
#include "keysat/util/encoding.hpp"
#include "keysat/util/file.hpp"

namespace keysat::license {

namespace {

constexpr std::uint8_t k_spki_prefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                          0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

Expected<PublicKey> from_minisign_b64(std::string_view line) {
    auto raw = base64_decode(trim(line));
    if (!raw || raw->size() != 42 || (*raw)[0] != 'E' || (*raw)[1] != 'd')
        return invalid("not a minisign public key (expected base64 of 42 bytes starting \"Ed\")");
    PublicKey k;
    crypto::KeyId id;
    std::copy_n(raw->begin() + 2, 8, id.begin());
    std::copy_n(raw->begin() + 10, 32, k.bytes.begin());
    k.key_id = id;
    return k;
}

Expected<PublicKey> from_pem(std::string_view text) {
    auto body = pem_body(text, "PUBLIC KEY");
    if (!body)
        return invalid("malformed PEM public key");
    auto der = base64_decode(*body);
    if (!der || der->size() != 44 ||
        !std::equal(std::begin(k_spki_prefix), std::end(k_spki_prefix), der->begin()))
        return invalid("PEM public key is not an Ed25519 SPKI key");
    PublicKey k;
    std::copy_n(der->begin() + 12, 32, k.bytes.begin());
    return k;
}

} // namespace

Expected<PublicKey> parse_public_key(std::string_view text) {
    std::string_view t = trim(text);
    if (t.find("-----BEGIN") != std::string_view::npos)
        return from_pem(t);
    if (t.starts_with("untrusted comment:")) {
        auto lines = split_lines(t);
        if (lines.size() < 2)
            return invalid("minisign public key file has no key line");
        return from_minisign_b64(lines[1]);
    }
    if (t.size() == 64) {
        if (auto raw = hex_decode(t)) {
            PublicKey k;
            std::copy(raw->begin(), raw->end(), k.bytes.begin());
            return k;
        }
    }
    return from_minisign_b64(t);
}

Expected<PublicKey> load_public_key(const std::string& arg) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(arg, ec)) {
        KEYSAT_TRY_ASSIGN(text, read_small_file(arg, 64 * 1024));
        auto key = parse_public_key(text);
        if (!key)
            return usage_error(fmt::format("public key file {}: {}", arg, key.error().message));
        return key;
    }
    auto key = parse_public_key(arg);
    if (!key)
        return usage_error(fmt::format(
            "public key '{}': not a readable file, and not a key (minisign file or line, SPKI "
            "PEM, or 64 hex digits)",
            arg.size() > 80 ? arg.substr(0, 80) + "..." : arg));
    return key;
}

std::string format_public_key(const PublicKey& key, PubkeyForm form, std::string_view comment) {
    auto minisign_line = [&] {
        Bytes raw{'E', 'd'};
        const crypto::KeyId id = key.key_id.value_or(crypto::KeyId{});
        raw.insert(raw.end(), id.begin(), id.end());
        raw.insert(raw.end(), key.bytes.begin(), key.bytes.end());
        return base64_encode(raw);
    };
    switch (form) {
    case PubkeyForm::minisign: {
        std::string c =
            comment.empty()
                ? "minisign public key " + crypto::key_id_text(key.key_id.value_or(crypto::KeyId{}))
                : std::string(comment);
        return fmt::format("untrusted comment: {}\n{}\n", c, minisign_line());
    }
    case PubkeyForm::base64:
        return minisign_line() + "\n";
    case PubkeyForm::hex:
        return hex_encode(key.bytes) + "\n";
    case PubkeyForm::pem: {
        Bytes der(std::begin(k_spki_prefix), std::end(k_spki_prefix));
        der.insert(der.end(), key.bytes.begin(), key.bytes.end());
        return fmt::format("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                           base64_encode(der));
    }
    }
    return {};
}

Expected<Keyring> load_keyring(const std::vector<std::string>& args) {
    if (args.empty())
        return usage_error("no public key given (use -p/--pubkey, repeatable)");
    Keyring ring;
    for (const auto& a : args) {
        KEYSAT_TRY_ASSIGN(key, load_public_key(a));
        ring.keys.push_back(key);
    }
    return ring;
}

} // namespace keysat::license
