// GET /metrics on its own listener (metrics_bind), read by a strict parser of the Prometheus text
// format written here, with the counters checked against the traffic the test sent.

#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/serve_in_process.hpp"
#include "support/support.hpp"

using namespace keysat;
using nlohmann::json;

namespace {

// One sample: metric name, labels, value.
struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct Exposition {
    std::map<std::string, std::string> types; // family -> counter, gauge, histogram
    std::vector<Sample> samples;

    // The value of the one sample with `name` and (at least) `labels`; fails when not exactly one.
    double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
        const Sample* found = nullptr;
        int n = 0;
        for (const auto& s : samples) {
            if (s.name != name)
                continue;
            bool match = true;
            for (const auto& [k, v] : labels)
                match = match && s.labels.count(k) == 1 && s.labels.at(k) == v;
            if (match) {
                found = &s;
                ++n;
            }
        }
        INFO(name);
        REQUIRE(n == 1);
        return found->value;
    }
};

// Parses the text format (version 0.0.4) strictly: every line a comment (# HELP / # TYPE
// before the family's first sample, once each), a sample of a declared family with valid
// names, escaped label values, no duplicate series and a number; histograms with le buckets
// that never decrease and end with +Inf equal to _count. Any deviation fails the test.
// Fails (throws) on the first rule broken, naming it and the line.
#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            throw std::runtime_error("metrics text breaks " #cond " at line " +                    \
                                     std::to_string(number) + ": " + line);                        \
    } while (0)

Exposition parse(const std::string& text) {
    static const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
    static const std::regex label_name_re("[a-zA-Z_][a-zA-Z0-9_]*");
    Exposition out;
    std::set<std::string> helped, series;
    std::string line;
    int number = 0;
    EXPECT(!text.empty());
    EXPECT(text.back() == '\n');
    std::istringstream in(text);
    while (std::getline(in, line)) {
        ++number;
        EXPECT(!line.empty());
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            std::string rest = line.substr(7);
            auto sp = rest.find(' ');
            EXPECT(sp != std::string::npos);
            std::string family = rest.substr(0, sp), what = rest.substr(sp + 1);
            EXPECT(std::regex_match(family, name_re));
            EXPECT(family.starts_with("keysat_"));
            if (line[2] == 'H') {
                EXPECT(helped.insert(family).second);
            } else {
                EXPECT((what == "counter" || what == "gauge" || what == "histogram"));
                EXPECT(out.types.count(family) == 0);
                out.types[family] = what;
            }
            continue;
        }
        EXPECT(line.front() != '#');
        Sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ')
            ++i;
        s.name = line.substr(0, i);
        EXPECT(std::regex_match(s.name, name_re));
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (line.at(i) != '}') {
                auto eq = line.find('=', i);
                EXPECT(eq != std::string::npos);
                std::string label = line.substr(i, eq - i);
                EXPECT(std::regex_match(label, label_name_re));
                EXPECT(line.at(eq + 1) == '"');
                std::string value;
                std::size_t j = eq + 2;
                for (;; ++j) {
                    char c = line.at(j);
                    if (c == '"')
                        break;
                    if (c == '\\') {
                        char e = line.at(++j);
                        EXPECT((e == '\\' || e == '"' || e == 'n'));
                        value += e == 'n' ? '\n' : e;
                    } else {
                        value += c;
                    }
                }
                EXPECT(s.labels.emplace(label, value).second);
                i = j + 1;
                if (line.at(i) == ',')
                    ++i;
                else
                    EXPECT(line.at(i) == '}');
            }
            ++i;
        }
        EXPECT(line.at(i) == ' ');
        std::string number_text = line.substr(i + 1);
        std::size_t used = 0;
        try {
            s.value = std::stod(number_text, &used);
        } catch (const std::exception&) {
            EXPECT(!"a number");
        }
        EXPECT(used == number_text.size());
        // The family: the name itself, or a histogram's name before _bucket, _sum or _count.
        std::string family = s.name;
        for (const char* suffix : {"_bucket", "_sum", "_count"})
            if (out.types.count(family) == 0 && s.name.ends_with(suffix))
                family = s.name.substr(0, s.name.size() - std::string_view(suffix).size());
        EXPECT(out.types.count(family) == 1);
        EXPECT(helped.count(family) == 1);
        if (out.types[family] == "counter")
            EXPECT(s.value >= 0);
        std::string key = s.name;
        for (const auto& [k, v] : s.labels)
            key += "|" + k + "=" + v;
        EXPECT(series.insert(key).second);
        out.samples.push_back(std::move(s));
    }
    // Histograms: cumulative buckets ending with +Inf == _count.
    for (const auto& [family, type] : out.types) {
        if (type != "histogram")
            continue;
        std::map<std::string, std::vector<std::pair<double, double>>> buckets; // series -> (le, n)
        for (const auto& s : out.samples)
            if (s.name == family + "_bucket") {
                auto labels = s.labels;
                EXPECT(labels.count("le") == 1);
                std::string le = labels.at("le");
                labels.erase("le");
                std::string key = json(labels).dump();
                buckets[key].emplace_back(
                    le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr), s.value);
            }
        for (auto& [key, list] : buckets) {
            EXPECT(std::isinf(list.back().first));
            for (std::size_t i = 1; i < list.size(); ++i) {
                EXPECT(list[i].first > list[i - 1].first);
                EXPECT(list[i].second >= list[i - 1].second);
            }
            auto labels = json::parse(key).get<std::map<std::string, std::string>>();
            double count = -1;
            for (const auto& c : out.samples)
                if (c.name == family + "_count" && c.labels == labels)
                    count = c.value;
            EXPECT(count == list.back().second);
        }
    }
    return out;
}

} // namespace

TEST_CASE("GET /metrics on metrics_bind is valid Prometheus text whose counters match the "
          "traffic sent, and the API's port does not serve it",
          "[e2e][metrics]") {
    FixedClock clock{1'790'000'000};
    test::TempDir dir;
    test::InProcessServer server(dir / "data", "metrics_bind = \"127.0.0.1:0\"\n", clock);
    REQUIRE(server.metrics_port() > 0);
    const auto& admin = server.admin_key();
    std::string key = server.issue_key();
    for (int i = 0; i < 7; ++i)
        REQUIRE(server.post("/v1/validate", json{{"key", key}}.dump()).status == 200);
    for (int i = 0; i < 3; ++i)
        server.post("/v1/validate", json{{"key", "LIC1-not-a-key"}}.dump());
    REQUIRE(server.get("/no/such/page").status == 404);

    CHECK(server.get("/metrics").status == 404); // not on the API's port
    auto scrape = test::http_request(server.metrics_port(), "GET", "/metrics", "");
    REQUIRE(scrape.status == 200);
    CHECK(scrape.headers["Content-Type"].starts_with("text/plain; version=0.0.4"));
    INFO(scrape.raw);
    auto m = parse(scrape.raw);
    CHECK(m.types["keysat_http_requests_total"] == "counter");
    CHECK(m.types["keysat_http_request_duration_seconds"] == "histogram");
    CHECK(m.value("keysat_http_requests_total",
                  {{"method", "POST"}, {"route", "/v1/validate"}, {"status", "200"}}) ==
          10); // a refused key is a 200 with ok false, as Keysat answers
    CHECK(m.value("keysat_http_request_duration_seconds_count",
                  {{"method", "POST"}, {"route", "/v1/validate"}}) == 10);
    CHECK(m.value("keysat_http_requests_total",
                  {{"method", "GET"}, {"route", ""}, {"status", "404"}}) == 2);
    CHECK(m.value("keysat_validations_total", {{"result", "ok"}}) == 7);
    double refused = 0;
    for (const auto& s : m.samples)
        if (s.name == "keysat_validations_total" && s.labels.at("result") != "ok")
            refused += s.value;
    CHECK(refused == 3);
    CHECK(m.value("keysat_invoices_pending") == 0);
    CHECK(m.value("keysat_webhook_queue_depth") == 0);
    CHECK(m.value("keysat_webhook_dead_deliveries") == 0);
    CHECK(m.value("keysat_database_bytes") > 0);
    // A route pattern with regular-expression characters comes back escaped and intact.
    REQUIRE(server.get("/v1/admin/licenses/00000000-0000-4000-8000-000000000000", admin).status ==
            404);
    auto again = parse(test::http_request(server.metrics_port(), "GET", "/metrics", "").raw);
    CHECK(
        again.value("keysat_http_requests_total", {{"method", "GET"},
                                                   {"route", "/v1/admin/licenses/([0-9a-f-]{36})"},
                                                   {"status", "404"}}) == 1);
    // Only /metrics, only GET, on the metrics port.
    CHECK(test::http_request(server.metrics_port(), "GET", "/v1/admin/licenses", "").status == 404);
    CHECK(test::http_request(server.metrics_port(), "POST", "/metrics", "").status == 405);
}

TEST_CASE("the parser used for /metrics refuses malformed exposition text", "[metrics]") {
    const std::string head = "# HELP keysat_x h\n# TYPE keysat_x counter\n";
    CHECK_NOTHROW(parse(head + "keysat_x{a=\"b\\\"c\"} 1\n"));
    CHECK(parse(head + "keysat_x{a=\"b\\\"c\"} 1\n").samples.at(0).labels.at("a") == "b\"c");
    for (const std::string& bad :
         std::vector<std::string>{std::string("keysat_x 1\n"),       // no TYPE or HELP
                                  head + "keysat_x{a=\"b} 1\n",      // unterminated label value
                                  head + "keysat_x -1\n",            // a negative counter
                                  head + "keysat_x 1\nkeysat_x 2\n", // the same series twice
                                  head + "keysat_x one\n",           // not a number
                                  head + "keysat_x{9a=\"b\"} 1\n",   // a bad label name
                                  head + "keysat_x 1",               // no final line end
                                  std::string("# HELP keysat_h h\n# TYPE keysat_h "
                                              "histogram\nkeysat_h_bucket{le=\"1\"} 2\n"
                                              "keysat_h_bucket{le=\"+Inf\"} 1\nkeysat_h_count "
                                              "1\nkeysat_h_sum 1\n")}) { // decreasing
        INFO(bad);
        CHECK_THROWS(parse(bad));
    }
}
