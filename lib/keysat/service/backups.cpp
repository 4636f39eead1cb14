#include "keysat/service/backups.hpp"

#include <algorithm>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "keysat/db/migrations.hpp"
#include "keysat/util/date.hpp"

namespace keysat::service {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_prefix = "keysat-", k_suffix = ".db";

// keysat-20261201T050000Z.db for `now`.
std::string name_for(std::int64_t now) {
    std::string stamp = format_timestamp(now);
    std::erase(stamp, ':');
    std::erase(stamp, '-');
    return fmt::format("{}{}{}", k_prefix, stamp, k_suffix);
}

// The time a backup's name says, if it is one of ours.
std::optional<std::int64_t> time_of(const std::string& name) {
    if (!name.starts_with(k_prefix) || !name.ends_with(k_suffix) ||
        name.size() != k_prefix.size() + 16 + k_suffix.size())
        return std::nullopt;
    std::string s = name.substr(k_prefix.size(), 16); // YYYYMMDDTHHMMSSZ
    std::string iso = s.substr(0, 4) + "-" + s.substr(4, 2) + "-" + s.substr(6, 2) + "T" +
                      s.substr(9, 2) + ":" + s.substr(11, 2) + ":" + s.substr(13, 2) + "Z";
    return parse_timestamp(iso);
}

// Our backups in `dir`, oldest first.
std::vector<std::pair<std::int64_t, fs::path>> backups_in(const fs::path& dir) {
    std::vector<std::pair<std::int64_t, fs::path>> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (auto t = time_of(e.path().filename().string()); t && e.is_regular_file(ec))
            out.emplace_back(*t, e.path());
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

std::optional<std::int64_t> newest_backup_time(const fs::path& dir) {
    auto list = backups_in(dir);
    if (list.empty())
        return std::nullopt;
    return list.back().first;
}

Expected<BackupResult> take_backup(db::Database& db, const fs::path& dir, int keep,
                                   std::int64_t now) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return usage_error(
            fmt::format("{}: cannot create the backup directory: {}", dir.string(), ec.message()));
    BackupResult result{dir / name_for(now), 0};
    KEYSAT_TRY(db.backup_to(result.path));
    // The copy is only kept once it opens and checks clean.
    auto problem = [&]() -> std::string {
        auto copy = db::Database::open(result.path, db::OpenMode::read_only);
        if (!copy)
            return copy.error().message;
        auto report = db::verify_database(*copy);
        if (!report)
            return report.error().message;
        return report->problems.empty() ? "" : report->problems.front();
    }();
    if (!problem.empty()) {
        fs::remove(result.path, ec);
        return usage_error(fmt::format("{}: the backup failed its check ({}); it was removed and "
                                       "the older ones kept",
                                       result.path.string(), problem));
    }
    auto list = backups_in(dir);
    for (std::size_t i = 0; keep > 0 && i + static_cast<std::size_t>(keep) < list.size(); ++i)
        if (fs::remove(list[i].second, ec))
            ++result.removed;
    return result;
}

} // namespace keysat::service
