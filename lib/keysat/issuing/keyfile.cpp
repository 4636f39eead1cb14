#include "keysat/issuing/keyfile.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "keysat/crypto/hash.hpp"
#include "keysat/license/text_lines.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::issuing {

namespace {

constexpr std::size_t k_file_size = 158;
constexpr std::size_t k_salt_off = 6;
constexpr std::size_t k_ops_off = 38;
constexpr std::size_t k_mem_off = 46;
constexpr std::size_t k_keynum_off = 54; // key_id[8] || secret[64] || checksum[32]
constexpr std::size_t k_keynum_size = 104;

// XORs the key block with scrypt(passphrase, salt) as minisign does.
Expected<void> apply_kdf(std::uint8_t* block, std::string_view passphrase, const std::uint8_t* salt,
                         std::uint64_t ops, std::uint64_t mem) {
    crypto::SecureBytes stream(k_keynum_size);
    if (!crypto::scrypt({stream.data(), k_keynum_size}, passphrase,
                        std::span<const std::uint8_t, 32>(salt, 32), {ops, mem}))
        return usage_error(fmt::format("key derivation failed (opslimit {}, memlimit {}): out of "
                                       "memory?",
                                       ops, mem));
    for (std::size_t i = 0; i < k_keynum_size; ++i)
        block[i] ^= stream.data()[i];
    return {};
}

std::array<std::uint8_t, 32> checksum(const std::uint8_t* keynum) {
    std::array<std::uint8_t, 2 + 8 + 64> in{};
    in[0] = 'E';
    in[1] = 'd';
    std::copy_n(keynum, 72, in.begin() + 2);
    auto sum = crypto::blake2b_256(in);
    crypto::wipe(in.data(), in.size());
    return sum;
}

crypto::KeyId random_key_id() {
    crypto::KeyId id;
    crypto::random_bytes(id);
    return id;
}

} // namespace

KdfLimits kdf_limits(KdfStrength strength) {
    return strength == KdfStrength::interactive ? crypto::scrypt_interactive()
                                                : crypto::scrypt_sensitive();
}

Expected<std::string> format_secret_key_file(const SecretKey& key, Encrypt encrypt,
                                             std::string_view passphrase, KdfLimits limits,
                                             std::string_view comment) {
    if (encrypt == Encrypt::yes && passphrase.empty())
        return usage_error("an empty passphrase is not allowed (use --unencrypted to store the "
                           "key without one)");
    crypto::SecureBytes raw(k_file_size);
    std::uint8_t* r = raw.data();
    std::fill_n(r, k_file_size, 0);
    r[0] = 'E';
    r[1] = 'd';
    if (encrypt == Encrypt::yes) {
        r[2] = 'S';
        r[3] = 'c';
        crypto::random_bytes({r + k_salt_off, 32});
        put_u64_le(r + k_ops_off, limits.opslimit);
        put_u64_le(r + k_mem_off, limits.memlimit);
    }
    r[4] = 'B';
    r[5] = '2';
    std::copy(key.key_id().begin(), key.key_id().end(), r + k_keynum_off);
    std::copy(key.secret_bytes().begin(), key.secret_bytes().end(), r + k_keynum_off + 8);
    auto sum = checksum(r + k_keynum_off);
    std::copy(sum.begin(), sum.end(), r + k_keynum_off + 72);
    if (encrypt == Encrypt::yes)
        KEYSAT_TRY(apply_kdf(r + k_keynum_off, passphrase, r + k_salt_off, limits.opslimit,
                             limits.memlimit));
    std::string c = comment.empty() ? (encrypt == Encrypt::yes ? "minisign encrypted secret key"
                                                               : "minisign unencrypted secret key")
                                    : std::string(comment);
    return fmt::format("untrusted comment: {}\n{}\n", c, base64_encode(raw.view()));
}

namespace {
Expected<std::string> key_line(std::string_view text) {
    auto lines = license::split_lines(trim(text));
    if (lines.size() < 2 || !lines[0].starts_with("untrusted comment:"))
        return usage_error("not a minisign secret key file (expected a comment line and a key "
                           "line)");
    return std::string(trim(lines[1]));
}
} // namespace

bool secret_key_file_is_encrypted(std::string_view text) {
    auto line = key_line(text);
    if (!line)
        return false;
    auto raw = base64_decode(*line);
    return raw && raw->size() == k_file_size && (*raw)[2] == 'S' && (*raw)[3] == 'c';
}

Expected<SecretKey> parse_secret_key_file(std::string_view text,
                                          const PassphraseSource& passphrase) {
    KEYSAT_TRY_ASSIGN(line, key_line(text));
    auto decoded = base64_decode(line);
    if (!decoded || decoded->size() != k_file_size)
        return usage_error("not a minisign secret key: the key line is not 158 bytes of base64");
    crypto::SecureBytes raw(k_file_size);
    std::copy(decoded->begin(), decoded->end(), raw.data());
    crypto::wipe(decoded->data(), decoded->size());
    std::uint8_t* r = raw.data();
    if (r[0] != 'E' || r[1] != 'd')
        return usage_error("unsupported secret key: signature algorithm is not Ed25519");
    if (r[4] != 'B' || r[5] != '2')
        return usage_error("unsupported secret key: checksum algorithm is not BLAKE2b");
    bool encrypted = r[2] == 'S' && r[3] == 'c';
    if (!encrypted && (r[2] != 0 || r[3] != 0))
        return usage_error("unsupported secret key: unknown key derivation algorithm");
    if (encrypted) {
        KEYSAT_TRY_ASSIGN(pass, passphrase());
        auto ok = apply_kdf(r + k_keynum_off, pass, r + k_salt_off, get_u64_le(r + k_ops_off),
                            get_u64_le(r + k_mem_off));
        crypto::wipe(pass.data(), pass.size());
        KEYSAT_TRY(ok);
    }
    auto expected_sum = checksum(r + k_keynum_off);
    std::span<const std::uint8_t> stored_sum(r + k_keynum_off + 72, 32);
    bool zero_sum =
        std::all_of(stored_sum.begin(), stored_sum.end(), [](auto b) { return b == 0; });
    if (!crypto::equal_ct(expected_sum, stored_sum) && (encrypted || !zero_sum))
        return usage_error(encrypted ? "wrong passphrase (or corrupted key file): checksum mismatch"
                                     : "corrupted secret key file: checksum mismatch");
    std::span<const std::uint8_t, 64> secret(r + k_keynum_off + 8, 64);
    if (!crypto::secret_is_consistent(secret))
        return usage_error("corrupted secret key file: public half does not match the seed");
    crypto::KeyId id;
    std::copy_n(r + k_keynum_off, 8, id.begin());
    return SecretKey::from_secret(secret, id);
}

Expected<SecretKey> import_pkcs8_pem(std::string_view text) {
    // PrivateKeyInfo v0 for Ed25519: SEQUENCE { INTEGER 0, AlgorithmIdentifier { 1.3.101.112 },
    // OCTET STRING { OCTET STRING seed[32] } }.
    static constexpr std::uint8_t k_prefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                                0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    auto body = license::pem_body(text, "PRIVATE KEY");
    if (!body)
        return usage_error("not a PKCS#8 PEM private key (no BEGIN/END PRIVATE KEY block)");
    auto der = base64_decode(*body);
    if (!der || der->size() != 48 ||
        !std::equal(std::begin(k_prefix), std::end(k_prefix), der->begin()))
        return usage_error("PKCS#8 key is not an unencrypted Ed25519 private key");
    crypto::SecureBytes seed(32);
    std::copy_n(der->begin() + 16, 32, seed.data());
    crypto::wipe(der->data(), der->size());
    return SecretKey::from_seed(std::span<const std::uint8_t, 32>(seed.data(), 32),
                                random_key_id());
}

Expected<SecretKey> import_seed_hex(std::string_view hex) {
    auto t = trim(hex);
    auto seed = t.size() == 64 ? hex_decode(t) : std::nullopt;
    if (!seed)
        return usage_error("seed must be exactly 64 hex characters (32 bytes)");
    auto key =
        SecretKey::from_seed(std::span<const std::uint8_t, 32>(seed->data(), 32), random_key_id());
    crypto::wipe(seed->data(), seed->size());
    return key;
}

} // namespace keysat::issuing
