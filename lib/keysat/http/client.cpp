// The outbound HTTP client (webhook deliveries): cpp-httplib's, the only place that includes
// httplib.h.

#include <httplib.h>

#include "keysat/http/client.hpp"

namespace keysat::http {

ClientResult post(const std::string& url, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  int connect_timeout_s, int read_timeout_s) {
    // Split scheme://host[:port] from the path.
    auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos)
        return {0, "not an absolute URL"};
    auto path_start = url.find('/', scheme_end + 3);
    std::string origin = url.substr(0, path_start);
    std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
    httplib::Client client(origin);
    client.set_connection_timeout(connect_timeout_s, 0);
    client.set_read_timeout(read_timeout_s, 0);
    client.set_write_timeout(read_timeout_s, 0);
    httplib::Headers h(headers.begin(), headers.end());
    auto r = client.Post(path, h, body, "application/json");
    if (!r)
        return {0, httplib::to_string(r.error())};
    return {r->status, ""};
}

} // namespace keysat::http
