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

std::vector<std::string> Health::reasons() const {
    std::vector<std::string> out;
    if (writes_failing)
        out.emplace_back("database_read_only");
    if (disk_nearly_full)
        out.emplace_back("disk_nearly_full");
    if (webhook_backlog >= k_webhook_backlog)
        out.emplace_back("webhook_backlog");
    return out;
}

Health check_health(db::Database& db, const std::filesystem::path& db_path) {
    Health h;
    h.writes_failing = db::writes_failing();
    std::error_code ec;
    auto dir = db_path.has_parent_path() ? db_path.parent_path() : std::filesystem::path(".");
    if (auto space = std::filesystem::space(dir, ec); !ec && space.capacity > 0) {
        h.disk_free_bytes = static_cast<std::int64_t>(space.available);
        h.disk_nearly_full = h.disk_free_bytes < Health::k_disk_low_bytes ||
                             space.available * 100 <
                                 space.capacity * static_cast<unsigned>(Health::k_disk_low_percent);
    }
    // Counted up to the threshold only: a probe must stay cheap however long the queue is.
    auto backlog =
        db.query_int(fmt::format("SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries "
                                 "WHERE delivered_at IS NULL AND dead = 0 LIMIT {})",
                                 Health::k_webhook_backlog));
    h.webhook_backlog = backlog ? *backlog : 0;
    return h;
}

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
                            const std::filesystem::path& backup_dir, std::int64_t now,
                            std::uint64_t log_dropped) const {
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
    auto health = check_health(db, db_path);
    gauge("keysat_disk_free_bytes", "Free bytes on the database's filesystem (-1: unknown).",
          health.disk_free_bytes);
    gauge("keysat_writes_failing",
          "1 while writes are refused for want of disk space (none has succeeded since).",
          health.writes_failing ? 1 : 0);
    family(out, "keysat_validation_log_dropped_total", "counter",
           "Validation-log rows dropped: the writer fell behind or the disk was full.");
    out += fmt::format("keysat_validation_log_dropped_total {}\n", log_dropped);
    if (!backup_dir.empty()) {
        auto last = service::newest_backup_time(backup_dir);
        gauge("keysat_backup_age_seconds", "Seconds since the newest scheduled backup (-1: none).",
              last ? now - *last : -1);
    }
    return out;
}

} // namespace keysat::api
