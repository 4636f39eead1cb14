// keysat-issue bulk: validate the whole input first, then sign and print.

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "keysat/cli/common.hpp"
#include "keysat/cli/issue_cli.hpp"
#include "keysat/issuing/bulk.hpp"
#include "keysat/service/recorder.hpp"
#include "keysat/util/clock.hpp"
#include "keysat/util/file.hpp"
#include "keysat/util/terminal.hpp"

namespace keysat::cli {

namespace {

constexpr std::size_t k_max_input = std::size_t{2} << 30;

// Prints "signed N/M" on stderr now and then, only when it is a terminal.
class Progress {
  public:
    explicit Progress(std::size_t total) : m_total(total), m_enabled(stderr_is_terminal()) {}
    void tick(std::size_t done) {
        if (m_enabled)
            std::fprintf(stderr, "\rsigned %zu/%zu", done, m_total);
    }
    ~Progress() {
        if (m_enabled && m_total > 0)
            std::fputc('\n', stderr);
    }

  private:
    std::size_t m_total;
    bool m_enabled;
};

} // namespace

Expected<int> run_bulk(const IssueOptions& o) {
    issuing::BulkOptions opt;
    opt.format =
        o.input_format == "jsonl" ? issuing::InputFormat::jsonl : issuing::InputFormat::csv;
    if (!o.product.empty()) {
        KEYSAT_TRY_ASSIGN(p, parse_uuid_arg("--product", o.product));
        opt.default_product = p;
    }
    if (!o.ns.empty()) {
        KEYSAT_TRY_ASSIGN(n, parse_uuid_arg("--namespace", o.ns));
        opt.ns = n;
    }
    opt.now = o.now ? *o.now : SystemClock().now();
    // The key is loaded (and its passphrase asked) before reading stdin, so a bad key fails fast.
    KEYSAT_TRY_ASSIGN(key, load_secret_key(o.secret_key, o.passphrase_file));

    KEYSAT_TRY_ASSIGN(input, read_stdin(k_max_input));
    // Pass 1 validates everything, so that a bad line anywhere means nothing is written.
    std::vector<issuing::BulkError> errors = issuing::check_bulk_input(input, opt);
    for (const auto& e : errors)
        std::cerr << "keysat-issue: " << issuing::describe(e) << '\n';
    if (!errors.empty() && !o.keep_going) {
        std::cerr << fmt::format("keysat-issue: {} bad line(s); nothing was issued (use "
                                 "--keep-going to issue the good lines)\n",
                                 errors.size());
        return k_exit_invalid;
    }
    std::optional<service::IssueRecorder> recorder;
    if (!o.db.empty()) {
        KEYSAT_TRY_ASSIGN(r, service::IssueRecorder::open(o.db, key, opt.now));
        recorder.emplace(std::move(r));
    }
    std::size_t skipped = 0;
    // Pass 2 reads the input again and signs it block by block on `jobs` threads, writing each
    // block in input order (output stays reproducible, memory stays flat).
    unsigned jobs = o.jobs > 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
    constexpr std::size_t k_block = 4096;
    std::vector<issuing::BulkItem> block;
    block.reserve(k_block);
    std::vector<Expected<std::string>> lines(k_block);
    std::string out;
    std::size_t issued = 0;
    Progress progress(static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n')));
    Expected<void> status;
    auto flush = [&]() -> Expected<void> {
        auto work = [&](std::size_t first) {
            for (std::size_t i = first; i < block.size(); i += jobs)
                lines[i] = issuing::sign_bulk_item(key, block[i]);
        };
        {
            std::vector<std::jthread> helpers;
            for (unsigned t = 1; t < jobs && t < block.size(); ++t)
                helpers.emplace_back(work, t);
            work(0);
        }
        out.clear();
        for (std::size_t i = 0; i < block.size(); ++i) {
            // Validation ran first, so this cannot fail on input; it is still checked.
            if (!lines[i])
                return std::unexpected(
                    Error{lines[i].error().code,
                          fmt::format("line {}: {}", block[i].line, lines[i].error().message)});
            out += *lines[i];
            out += '\n';
        }
        // Recorded before printed: what was printed is always in the database, and a run
        // killed in between is resumed by running it again (recorded lines are skipped).
        if (recorder)
            KEYSAT_TRY(recorder->record(
                block.size(),
                [&](std::size_t i) -> const issuing::LedgerRecord& { return block[i].record; },
                opt.now));
        if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size())
            return usage_error("writing standard output failed");
        issued += block.size();
        progress.tick(block.back().line);
        block.clear();
        return {};
    };
    issuing::for_each_bulk_item(input, opt, errors, [&](issuing::BulkItem& item) {
        if (recorder && status) {
            auto found = recorder->existing(item.record.id_key);
            if (!found) {
                status = std::unexpected(found.error());
                return;
            }
            if (*found) {
                std::cerr << fmt::format("keysat-issue: line {}: already issued as license {}; "
                                         "skipped\n",
                                         item.line, (*found)->id);
                ++skipped;
                return;
            }
        }
        block.push_back(std::move(item));
        if (block.size() == k_block && status)
            status = flush();
    });
    if (status && !block.empty())
        status = flush();
    KEYSAT_TRY(std::move(status));
    if (std::fflush(stdout) != 0)
        return usage_error("writing standard output failed");
    if (skipped > 0)
        std::cerr << fmt::format("keysat-issue: issued {}, skipped {} already recorded\n", issued,
                                 skipped);
    if (!errors.empty()) {
        std::cerr << fmt::format("keysat-issue: issued {}, skipped {} bad line(s)\n", issued,
                                 errors.size());
        return k_exit_invalid;
    }
    return k_exit_ok;
}

} // namespace keysat::cli
