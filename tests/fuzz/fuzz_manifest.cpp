// The release gate's manifests and version names (gate/layout.cpp).
//
// The input is written as a product's MANIFEST.json and a version's MANIFEST.json in a
// temporary releases tree. Properties: requires_license is false only for a JSON object with
// "requires_license": false; the version manifest is served byte for byte. Each line of the
// input is also a version name: version_less is a strict weak order on them (irreflexive,
// asymmetric, transitive, with transitive equivalence), so sorting never misbehaves, and
// sort_newest_first sorts.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "keysat/gate/layout.hpp"

using namespace keysat;
using gate::version_less;

namespace {

const std::filesystem::path& root() {
    static const std::filesystem::path dir = [] {
        char tmpl[] = "/tmp/keysat-fuzz-manifest-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr)
            std::abort();
        std::filesystem::create_directories(std::filesystem::path(tmpl) / "app" / "1.0.0");
        return std::filesystem::path(tmpl);
    }();
    return dir;
}

void write(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

void check_order(const std::vector<std::string>& names) {
    const std::size_t n = names.size();
    std::vector<std::vector<bool>> less(n, std::vector<bool>(n));
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t b = 0; b < n; ++b)
            less[a][b] = version_less(names[a], names[b]);
    auto equivalent = [&](std::size_t a, std::size_t b) { return !less[a][b] && !less[b][a]; };
    for (std::size_t a = 0; a < n; ++a) {
        FUZZ_CHECK(!less[a][a]);
        for (std::size_t b = 0; b < n; ++b) {
            FUZZ_CHECK(!(less[a][b] && less[b][a]));
            for (std::size_t c = 0; c < n; ++c) {
                if (less[a][b] && less[b][c])
                    FUZZ_CHECK(less[a][c]);
                if (equivalent(a, b) && equivalent(b, c))
                    FUZZ_CHECK(equivalent(a, c));
            }
        }
    }
    std::vector<std::string> sorted = names;
    gate::sort_newest_first(sorted);
    for (std::size_t i = 1; i < sorted.size(); ++i)
        FUZZ_CHECK(!version_less(sorted[i - 1], sorted[i]));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    static const gate::ReleaseTree tree(root());
    write(root() / "app" / "MANIFEST.json", text);
    write(root() / "app" / "1.0.0" / "MANIFEST.json", text);
    // No NUL: nlohmann's parser would stop at one, the gate refuses such a file.
    auto j = nlohmann::json::parse(text, nullptr, false);
    bool open = text.find('\0') == std::string_view::npos && j.is_object() &&
                j.contains("requires_license") && j["requires_license"].is_boolean() &&
                !j["requires_license"].get<bool>();
    FUZZ_CHECK(tree.requires_license("app") == !open);
    auto manifest = tree.manifest("app", "1.0.0");
    FUZZ_CHECK(manifest.state == gate::ReleaseTree::Manifest::State::ready &&
               manifest.text == text);
    // Version names, one a line (at most 16, so the cubic check stays cheap).
    std::vector<std::string> names;
    for (std::string_view rest = text; !rest.empty() && names.size() < 16;) {
        auto nl = rest.find('\n');
        names.emplace_back(rest.substr(0, nl));
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    }
    check_order(names);
    for (const auto& name : names)
        if (gate::is_safe_segment(name))
            FUZZ_CHECK(name.find('/') == std::string::npos && name != "." && name != "..");
    return 0;
}
