// keysat-serve's TOML configuration (config/config.cpp), toml++'s parser included: this target
// compiles config.cpp with toml++ header-only, so the parser is instrumented too.
//
// Properties: no exception escapes; an accepted file leaves every setting in its documented
// range and passes finish(); a refusal names the source.

#include "fuzz_support.hpp"
#include "keysat/config/config.hpp"

using namespace keysat;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    config::ServeConfig c;
    auto ok = config::apply_toml(c, text, "fuzz.toml");
    if (!ok) {
        FUZZ_CHECK(ok.error().message.starts_with("fuzz.toml") ||
                   ok.error().message.find(": ") != std::string::npos);
        return 0;
    }
    FUZZ_CHECK(c.bind_port >= 0 && c.bind_port <= 65535);
    FUZZ_CHECK(c.threads >= 0 && c.threads <= 4096);
    FUZZ_CHECK(c.keep_alive_max >= 1 && c.read_timeout_s >= 1 && c.write_timeout_s >= 1);
    FUZZ_CHECK(c.max_connections >= 1 && c.max_body_bytes >= 1024);
    FUZZ_CHECK(c.log_format == "text" || c.log_format == "json");
    FUZZ_CHECK(c.admin_api_key.empty() || c.admin_api_key.size() >= 32);
    FUZZ_CHECK(config::finish(c));
    FUZZ_CHECK(!c.db_path.empty() && !c.public_url.empty());
    // The bind address parser on its own.
    if (auto hp = config::parse_bind(std::string(text)))
        FUZZ_CHECK(hp->second >= 0 && hp->second <= 65535);
    return 0;
}
