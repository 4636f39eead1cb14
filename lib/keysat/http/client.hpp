#pragma once
// The outbound HTTP client, for webhook deliveries.

#include <string>
#include <utility>
#include <vector>

namespace keysat::http {

struct ClientResult {
    int status = 0;    // 0 when no HTTP answer came back
    std::string error; // connection or timeout error when status is 0
};

// POSTs `body` to an http:// or https:// URL with the given headers and timeouts.
ClientResult post(const std::string& url, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  int connect_timeout_s, int read_timeout_s);

} // namespace keysat::http
