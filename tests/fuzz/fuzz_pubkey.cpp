// Public keys in every form (license/pubkey.cpp): minisign file, its bare base64 line, SPKI PEM,
// 64 hex digits.
//
// Properties: a parsed key renders in each form it can take, and each rendering parses back to
// the same key (with its key id where the form carries one).

#include "fuzz_support.hpp"
#include "keysat/license/pubkey.hpp"

using namespace keysat;
using license::PubkeyForm;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    auto key = license::parse_public_key(text);
    if (!key)
        return 0;
    for (PubkeyForm form :
         {PubkeyForm::minisign, PubkeyForm::pem, PubkeyForm::hex, PubkeyForm::base64}) {
        bool carries_id = form == PubkeyForm::minisign || form == PubkeyForm::base64;
        if (carries_id && !key->key_id)
            continue;
        auto again = license::parse_public_key(license::format_public_key(*key, form));
        FUZZ_CHECK(again);
        FUZZ_CHECK(again->bytes == key->bytes);
        FUZZ_CHECK(carries_id ? again->key_id == key->key_id : !again->key_id);
    }
    return 0;
}
