// keysat-issue bulk: validate the whole input first, then sign and print.

#include <algorithm>
#include <array>
#include <cstdio>
#include <future>
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

// Pass 2 of bulk: blocks of items are signed on `jobs` threads while the previous block is
// recorded (with --db) and printed on a writer thread, in input order, so output stays
// reproducible and memory stays flat.
class BulkPipeline {
  public:
    BulkPipeline(const crypto::SecretKey& key, service::IssueRecorder* recorder, std::int64_t now,
                 unsigned jobs, std::size_t total_lines)
        : m_key(key), m_recorder(recorder), m_now(now), m_jobs(jobs), m_progress(total_lines) {
        for (auto& b : m_blocks)
            b.reserve(k_block);
    }

    void add(issuing::BulkItem item) {
        if (!m_status)
            return;
        m_blocks[m_current].push_back(std::move(item));
        if (m_blocks[m_current].size() == k_block)
            flush();
    }

    // Signs and writes what is left, then reports the first error, if any.
    Expected<void> finish() {
        if (m_status && !m_blocks[m_current].empty())
            flush();
        if (m_writer.valid() && m_status)
            m_status = m_writer.get();
        if (m_status && std::fflush(stdout) != 0)
            m_status = usage_error("writing standard output failed");
        return m_status;
    }

    std::size_t issued() const { return m_issued; }
    std::size_t skipped() const { return m_skipped; }

  private:
    static constexpr std::size_t k_block = 4096;

    void flush() {
        auto& block = m_blocks[m_current];
        auto& lines = m_lines[m_current];
        lines.resize(block.size());
        auto work = [&](std::size_t first) {
            for (std::size_t i = first; i < block.size(); i += m_jobs)
                lines[i] = issuing::sign_bulk_item(m_key, block[i]);
        };
        {
            std::vector<std::jthread> helpers;
            for (unsigned t = 1; t < m_jobs && t < block.size(); ++t)
                helpers.emplace_back(work, t);
            work(0);
        }
        if (m_writer.valid() && !(m_status = m_writer.get()))
            return;
        m_writer = std::async(std::launch::async, [this, slot = m_current] { return write(slot); });
        m_current ^= 1;
        m_blocks[m_current].clear(); // its writer has finished
    }

    // Records (with --db) then prints one signed block. Recorded before printed: what was
    // printed is always in the database, and a run killed in between resumes when run again.
    Expected<void> write(int slot) {
        auto& block = m_blocks[slot];
        auto& lines = m_lines[slot];
        for (std::size_t i = 0; i < block.size(); ++i)
            if (!lines[i]) // validation ran first, so this cannot fail on input
                return std::unexpected(
                    Error{lines[i].error().code,
                          fmt::format("line {}: {}", block[i].line, lines[i].error().message)});
        std::vector<store::InsertOutcome> outcomes;
        if (m_recorder) {
            KEYSAT_TRY_ASSIGN(o, m_recorder->record(
                                     block.size(),
                                     [&](std::size_t i) -> const issuing::LedgerRecord& {
                                         return block[i].record;
                                     },
                                     m_now));
            outcomes = std::move(o);
        }
        m_out.clear();
        for (std::size_t i = 0; i < block.size(); ++i) {
            if (!outcomes.empty() && outcomes[i] == store::InsertOutcome::already_issued) {
                std::cerr << fmt::format("keysat-issue: line {}: already issued under the same "
                                         "id_key; skipped\n",
                                         block[i].line);
                ++m_skipped;
                continue;
            }
            m_out += *lines[i];
            m_out += '\n';
            ++m_issued;
        }
        if (std::fwrite(m_out.data(), 1, m_out.size(), stdout) != m_out.size())
            return usage_error("writing standard output failed");
        m_progress.tick(block.back().line);
        return {};
    }

    const crypto::SecretKey& m_key;
    service::IssueRecorder* m_recorder;
    std::int64_t m_now;
    unsigned m_jobs;
    Progress m_progress;
    std::array<std::vector<issuing::BulkItem>, 2> m_blocks;
    std::array<std::vector<Expected<std::string>>, 2> m_lines;
    int m_current = 0;
    std::future<Expected<void>> m_writer;
    std::string m_out;
    std::size_t m_issued = 0;
    std::size_t m_skipped = 0;
    Expected<void> m_status;
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
    BulkPipeline pipeline(key, recorder ? &*recorder : nullptr, opt.now,
                          o.jobs > 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency()),
                          static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n')));
    issuing::for_each_bulk_item(input, opt, errors,
                                [&](issuing::BulkItem& item) { pipeline.add(std::move(item)); });
    KEYSAT_TRY(pipeline.finish());
    if (pipeline.skipped() > 0)
        std::cerr << fmt::format("keysat-issue: issued {}, skipped {} already recorded\n",
                                 pipeline.issued(), pipeline.skipped());
    if (!errors.empty()) {
        std::cerr << fmt::format("keysat-issue: issued {}, skipped {} bad line(s)\n",
                                 pipeline.issued(), errors.size());
        return k_exit_invalid;
    }
    return k_exit_ok;
}

} // namespace keysat::cli
