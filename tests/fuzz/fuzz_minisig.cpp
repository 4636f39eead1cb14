// minisign signature files (license/minisig.cpp), verified against a fixed message.
//
// Properties: a parsed file renders back to a file that parses to the same fields; the trusted
// comment obeys its limits; only a file that parses can verify, and one that verifies is signed
// by a trusted key. The message is that of tests/fixtures/minisign/msg.txt, the keys are that
// fixture's minisign key and the seed key, so the fixture signatures and the generated seeds
// verify.

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "fuzz_support.hpp"
#include "keysat/license/minisig.hpp"

using namespace keysat;

namespace {

bool same(const license::SignatureFile& a, const license::SignatureFile& b) {
    return a.untrusted_comment == b.untrusted_comment && a.alg == b.alg && a.key_id == b.key_id &&
           a.signature == b.signature && a.trusted_comment == b.trusted_comment &&
           a.global_signature == b.global_signature;
}

struct Setup {
    std::filesystem::path message;
    license::Keyring ring;
};

const Setup& setup() {
    static const Setup s = [] {
        char dir[] = "/tmp/keysat-fuzz-minisig-XXXXXX";
        if (::mkdtemp(dir) == nullptr)
            std::abort();
        Setup out;
        out.message = std::filesystem::path(dir) / "msg.txt";
        std::ofstream(out.message, std::ios::binary) << "hello minisign\n";
        auto fixture_key =
            license::parse_public_key("untrusted comment: minisign public key 4EBD15E228CBD1DC\n"
                                      "RWTc0cso4hW9TokDxGkWD9mxcbigmwTDhokwgs+gikdoygsEM40qtF/z\n");
        if (!fixture_key)
            std::abort();
        out.ring.keys = {*fixture_key, fuzz::seed_key().public_key()};
        return out;
    }();
    return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    auto sig = license::parse_signature_file(text);
    if (!sig)
        return 0;
    FUZZ_CHECK(sig->untrusted_comment.size() < 1024);
    FUZZ_CHECK(license::check_trusted_comment(sig->trusted_comment));
    FUZZ_CHECK(sig->untrusted_comment.find('\n') == std::string::npos);
    std::string rendered = license::format_signature_file(*sig);
    auto again = license::parse_signature_file(rendered);
    FUZZ_CHECK(again);
    FUZZ_CHECK(same(*again, *sig));
    FUZZ_CHECK(license::format_signature_file(*again) == rendered);
    auto verified = license::verify_file(setup().message, *sig, setup().ring);
    if (verified)
        FUZZ_CHECK(verified->key_index < setup().ring.keys.size());
    return 0;
}
