// Revocation lists (license/token.cpp parse_revocation_list, gate/revocations.cpp).
//
// Properties: every id read is 64 lower-case hex digits and comes from its own line; the gate's
// list, reloaded from a file holding the text, holds exactly those ids; a list that fails to
// load leaves the one in use as it was.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "fuzz_support.hpp"
#include "keysat/gate/revocations.hpp"
#include "keysat/license/token.hpp"

using namespace keysat;

namespace {

std::filesystem::path list_path() {
    static const std::filesystem::path path = [] {
        char dir[] = "/tmp/keysat-fuzz-revocations-XXXXXX";
        if (::mkdtemp(dir) == nullptr)
            std::abort();
        return std::filesystem::path(dir) / "revoked.txt";
    }();
    return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    auto ids = license::parse_revocation_list(text);
    std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    if (ids) {
        FUZZ_CHECK(ids->size() <= lines);
        for (const auto& id : *ids) {
            FUZZ_CHECK(id.size() == 64);
            FUZZ_CHECK(std::all_of(id.begin(), id.end(), [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            }));
        }
    } else {
        FUZZ_CHECK(ids.error().message.starts_with("revocation list line "));
    }
    // The gate's reloadable list over the same text.
    static gate::RevocationList list(list_path());
    std::size_t before = list.size();
    {
        std::ofstream out(list_path(), std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    auto loaded = list.reload();
    FUZZ_CHECK(loaded.has_value() == ids.has_value());
    if (ids) {
        std::set<std::string> unique(ids->begin(), ids->end());
        FUZZ_CHECK(*loaded == unique.size() && list.size() == unique.size());
        for (const auto& id : unique)
            FUZZ_CHECK(list.contains(id));
    } else {
        FUZZ_CHECK(list.size() == before);
    }
    return 0;
}
