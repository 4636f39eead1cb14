#pragma once
// minisign signature files (formats.md §3) and verification of files against them.

#include <filesystem>
#include <string>
#include <string_view>

#include "keysat/crypto/ed25519.hpp"
#include "keysat/license/pubkey.hpp"
#include "keysat/util/error.hpp"

namespace keysat::license {

enum class SigAlg { prehashed, legacy }; // "ED" (BLAKE2b-512 of the file), "Ed" (raw file)

struct SignatureFile {
    std::string untrusted_comment;
    SigAlg alg = SigAlg::prehashed;
    crypto::KeyId key_id{};
    crypto::Signature signature{};
    std::string trusted_comment;
    crypto::Signature global_signature{};
};

// Parses the four-line file; accepts CRLF and a missing final newline.
Expected<SignatureFile> parse_signature_file(std::string_view text);
// Renders the four-line file with LF line ends.
std::string format_signature_file(const SignatureFile& sig);

// The message the global signature signs: signature[64] || trusted comment.
Bytes global_message(const SignatureFile& sig);

// Checks a trusted comment's limits: under 8192 bytes, no control characters.
Expected<void> check_trusted_comment(std::string_view comment);

struct VerifiedFile {
    SignatureFile sig;
    std::size_t key_index = 0;
};

// Verifies `file` against `sig`: the key id must match a keyring key (keys without an id are
// tried), then the file signature and the global signature over the trusted comment. The file
// is streamed for "ED"; "Ed" (legacy) maps the whole file.
Expected<VerifiedFile> verify_file(const std::filesystem::path& file, const SignatureFile& sig,
                                   const Keyring& ring);

} // namespace keysat::license
