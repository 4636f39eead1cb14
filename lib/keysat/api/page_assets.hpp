#pragma once
// The stylesheet and scripts of the buyer's pages, compiled in (no build step, no files to
// install): served at /assets/<name>.

#include <string>
#include <vector>

namespace keysat::api {

struct PageAsset {
    std::string name; // keysat.css, buy.js, thank-you.js
    std::string content_type;
    std::string body;
};

const std::vector<PageAsset>& page_assets();

} // namespace keysat::api
