#include "keysat/api/metrics.hpp"

#include <fmt/format.h>

#include "keysat/service/backups.hpp"
#include "keysat/store/stats_store.hpp"

namespace keysat::api {

namespace {

// A label value as the text format wants it: backslash, quote and line feed escaped.
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string number(double v) {
    return fmt::format("{}", v);
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::int64_t bytes_of(const std::filesystem::path& p) {
    std::error_code ec;
    auto n = std::filesystem::file_size(p, ec);
    return ec ? 0 : static_cast<std::int64_t>(n);
}

} // namespace

void Metrics::request(const std::string& method, const std::string& route, int status,
                      double seconds) {
    std::lock_guard lock(m_mutex);
    ++m_requests[{method, route, status}];
    auto& h = m_latency[{method, route}];
    for (std::size_t i = 0; i < k_buckets.size(); ++i)
        if (seconds <= k_buckets[i]) {
            ++h.le[i];
            break;
        }
    ++h.count;
    h.sum += seconds;
}

void Metrics::validation(const std::string& result) {
    std::lock_guard lock(m_mutex);
    ++m_validations[result];
}

std::string Metrics::render(db::Database& db, const std::filesystem::path& db_path,
                            const std::filesystem::path& backup_dir, std::int64_t now) const {
    std::string out;
    {
        std::lock_guard lock(m_mutex);
        family(out, "keysat_http_requests_total", "counter",
               "Requests answered, by method, route pattern and status.");
        for (const auto& [key, n] : m_requests)
            out += fmt::format(
                "keysat_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                label(std::get<0>(key)), label(std::get<1>(key)), std::get<2>(key), n);
        family(out, "keysat_http_request_duration_seconds", "histogram",
               "Time from a request's head to its answer being queued.");
        for (const auto& [key, h] : m_latency) {
            std::string labels =
                fmt::format("method=\"{}\",route=\"{}\"", label(key.first), label(key.second));
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < k_buckets.size(); ++i) {
                cumulative += h.le[i];
                out +=
                    fmt::format("keysat_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                                labels, number(k_buckets[i]), cumulative);
            }
            out += fmt::format("keysat_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                               labels, h.count);
            out += fmt::format("keysat_http_request_duration_seconds_sum{{{}}} {}\n", labels,
                               number(h.sum));
            out += fmt::format("keysat_http_request_duration_seconds_count{{{}}} {}\n", labels,
                               h.count);
        }
        family(out, "keysat_validations_total", "counter",
               "License validations, by result (ok or the refusal's reason).");
        for (const auto& [result, n] : m_validations)
            out += fmt::format("keysat_validations_total{{result=\"{}\"}} {}\n", label(result), n);
    }
    store::StatsStore stats(db);
    auto gauge = [&](const char* name, const char* help, std::int64_t v) {
        family(out, name, "gauge", help);
        out += fmt::format("{} {}\n", name, v);
    };
    auto queued = db.query_int("SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS "
                               "NULL AND dead = 0");
    gauge("keysat_webhook_queue_depth", "Webhook deliveries waiting to be sent.",
          queued ? *queued : -1);
    auto dead = stats.failed_deliveries();
    gauge("keysat_webhook_dead_deliveries", "Webhook deliveries that gave up.", dead ? *dead : -1);
    auto open = stats.open_invoices();
    gauge("keysat_invoices_pending", "Invoices awaiting payment.", open ? *open : -1);
    gauge("keysat_database_bytes", "Size of the database file.", bytes_of(db_path));
    gauge("keysat_wal_bytes", "Size of the database's write-ahead log.",
          bytes_of(db_path.string() + "-wal"));
    if (!backup_dir.empty()) {
        auto last = service::newest_backup_time(backup_dir);
        gauge("keysat_backup_age_seconds", "Seconds since the newest scheduled backup (-1: none).",
              last ? now - *last : -1);
    }
    return out;
}

} // namespace keysat::api
