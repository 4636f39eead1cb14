// keysat-issue bulk: validate the whole input first, then sign and print.

#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "keysat/cli/common.hpp"
#include "keysat/cli/issue_cli.hpp"
#include "keysat/issuing/bulk.hpp"
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
        if (m_enabled && (done % 1000 == 0 || done == m_total))
            std::fprintf(stderr, "\rsigned %zu/%zu", done, m_total);
    }
    ~Progress() {
        if (m_enabled && m_total > 0) std::fputc('\n', stderr);
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
    issuing::BulkInput batch = issuing::parse_bulk_input(input, opt);
    for (const auto& e : batch.errors)
        std::cerr << "keysat-issue: " << issuing::describe(e) << '\n';
    if (!batch.errors.empty() && !o.keep_going) {
        std::cerr << fmt::format("keysat-issue: {} bad line(s); nothing was issued (use "
                                 "--keep-going to issue the good lines)\n",
                                 batch.errors.size());
        return k_exit_invalid;
    }
    std::string out;
    out.reserve(batch.items.size() * 600);
    Progress progress(batch.items.size());
    std::size_t done = 0;
    for (auto& item : batch.items) {
        auto line = issuing::sign_bulk_item(key, item);
        if (!line)
            return std::unexpected(Error{
                line.error().code, fmt::format("line {}: {}", item.line, line.error().message)});
        out += *line;
        out += '\n';
        progress.tick(++done);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (std::fflush(stdout) != 0) return usage_error("writing standard output failed");
    if (!batch.errors.empty()) {
        std::cerr << fmt::format("keysat-issue: issued {}, skipped {} bad line(s)\n",
                                 batch.items.size(), batch.errors.size());
        return k_exit_invalid;
    }
    return k_exit_ok;
}

} // namespace keysat::cli
