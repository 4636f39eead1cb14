// The renewal worker at scale, for bench/run_renewals.sh.
//   bench_renewals make N DUE FILE  creates FILE at the latest schema with N subscriptions (and
//                                   their licenses) of a 30-day plan, DUE of them ending within
//                                   the worker's 7-day lead, the rest 20 to 29 days out.
//   bench_renewals pass FILE        runs the renewal worker's passes (service::renewal_pass, 500
//                                   per step, as keysat-serve runs them) until one opens nothing;
//                                   the provider's checkout is an in-process answer, so what is
//                                   timed is our work, not a network. Prints the passes, the
//                                   invoices opened and the seconds.
//   bench_renewals select FILE      the baseline: one plain indexed SELECT of the due rows
//                                   (every column the worker reads), stepping through them all.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "keysat/crypto/signing.hpp"
#include "keysat/db/migrations.hpp"
#include "keysat/service/subscriptions.hpp"

namespace {

using namespace keysat;

constexpr std::int64_t k_now = 1800000000;
constexpr std::int64_t k_day = 86400;
constexpr std::int64_t k_lead = 7 * k_day;

int fail(const std::string& message) {
    std::fprintf(stderr, "bench_renewals: %s\n", message.c_str());
    return 2;
}

Expected<void> make(db::Database& db, std::size_t n, std::size_t due) {
    KEYSAT_TRY(db.exec(fmt::format(
        "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ('0011223344556677', "
        "zeroblob(32), 1); INSERT INTO products (id, slug, name, description, price_amount, "
        "currency, entitlements, active, created_at, updated_at) VALUES "
        "('6f1c2a0e-8d4b-4f5e-9a7c-3b2d1e0f4a5b', 'app', 'App', '', 10000, 'SAT', '[]', 1, 1, 1); "
        "INSERT INTO policies (id, product_id, slug, name, renewal_period_days, "
        "recurring_period, created_at, updated_at) VALUES "
        "('0b8e3f2a-1111-4222-8333-944455556666', '6f1c2a0e-8d4b-4f5e-9a7c-3b2d1e0f4a5b', "
        "'monthly', 'Monthly', 30, 'month', 1, 1); INSERT INTO payment_providers (id, kind, "
        "base_url, store_id, api_key, webhook_secret, status, created_at, updated_at) VALUES "
        "('btcpay', 'btcpay', 'http://127.0.0.1:9', 'store', 'key', 'secret', 'connected', 1, "
        "1); INSERT INTO webhook_endpoints (id, url, secret, created_at, updated_at) VALUES "
        "('hook', 'http://127.0.0.1:9/hook', 'secret', 1, 1)")));
    KEYSAT_TRY_ASSIGN(license,
                      db.prepare("INSERT INTO licenses (id, product_id, policy_id, buyer_email, "
                                 "issued_at, expires_at, grace_days, license_key, signing_key_id, "
                                 "created_at, updated_at) VALUES (?1, "
                                 "'6f1c2a0e-8d4b-4f5e-9a7c-3b2d1e0f4a5b', "
                                 "'0b8e3f2a-1111-4222-8333-944455556666', ?2, 1, ?3, 7, ?4, "
                                 "'0011223344556677', 1, 1)"));
    KEYSAT_TRY_ASSIGN(
        sub, db.prepare("INSERT INTO subscriptions (id, license_id, policy_id, product_id, status, "
                        "period_days, listed_currency, listed_value, grace_days, started_at, "
                        "current_period_start, current_period_end, provider_id, created_at, "
                        "updated_at) VALUES (?1, ?2, '0b8e3f2a-1111-4222-8333-944455556666', "
                        "'6f1c2a0e-8d4b-4f5e-9a7c-3b2d1e0f4a5b', 'active', 30, 'SAT', 10000, 7, "
                        "?3, ?3, ?4, 'btcpay', ?3, ?3)"));
    for (std::size_t start = 0; start < n; start += 4096) {
        KEYSAT_TRY_ASSIGN(tx, db::Transaction::begin(db));
        for (std::size_t i = start; i < std::min(n, start + 4096); ++i) {
            // Due ones spread over the lead; the others 20 to 29 days out.
            std::int64_t end =
                i % (n / due) == 0 && i / (n / due) < due
                    ? k_now + static_cast<std::int64_t>(i % k_lead)
                    : k_now + 20 * k_day + static_cast<std::int64_t>(i % (9 * k_day));
            std::string lid = fmt::format("10000000-0000-4000-8000-{:012x}", i);
            license.reset();
            license.bind(1, lid)
                .bind(2, fmt::format("user{}@example.com", i))
                .bind(3, end)
                .bind(4, fmt::format("LIC1-{:012x}", i));
            KEYSAT_TRY(license.run());
            sub.reset();
            sub.bind(1, fmt::format("20000000-0000-4000-8000-{:012x}", i))
                .bind(2, lid)
                .bind(3, end - 30 * k_day)
                .bind(4, end);
            KEYSAT_TRY(sub.run());
        }
        KEYSAT_TRY(tx.commit());
    }
    return {};
}

} // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (!((mode == "make" && argc == 5) || ((mode == "pass" || mode == "select") && argc == 3)))
        return fail("usage: bench_renewals make N DUE FILE | pass FILE | select FILE");
    auto db = db::Database::open(argv[argc - 1], mode == "make" ? db::OpenMode::read_write_create
                                                                : db::OpenMode::read_write);
    if (!db)
        return fail(db.error().message);
    auto t0 = std::chrono::steady_clock::now();
    auto seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    if (mode == "make") {
        if (auto up = db::migrate_up(*db, {0, false, false, 1}); !up)
            return fail(up.error().message);
        std::size_t n = std::strtoull(argv[2], nullptr, 10);
        std::size_t due = std::strtoull(argv[3], nullptr, 10);
        if (n == 0 || due == 0 || due > n)
            return fail("N and DUE must be positive, DUE at most N");
        if (auto ok = make(*db, n, due); !ok)
            return fail(ok.error().message);
        std::printf("made %zu subscriptions (%zu due) in %.2f s\n", n, due, seconds());
        return 0;
    }
    if (mode == "select") {
        auto stmt = db->prepare(
            "SELECT id, license_id, policy_id, product_id, status, period_days, listed_currency, "
            "listed_value, grace_days, started_at, current_period_start, current_period_end, "
            "provider_id, pending_policy_id, cancelled_at, cancellation_reason, lapsed_at, "
            "consecutive_failures, last_renewal_attempt_at, zaprite_payment_profile_id, "
            "created_at, updated_at FROM subscriptions WHERE status = 'active' AND "
            "current_period_end <= ? ORDER BY current_period_end, id");
        if (!stmt)
            return fail(stmt.error().message);
        stmt->bind(1, k_now + k_lead);
        std::size_t rows = 0;
        for (;;) {
            auto row = stmt->step();
            if (!row)
                return fail(row.error().message);
            if (!*row)
                break;
            ++rows;
        }
        std::printf("select: %zu due rows in %.4f s\n", rows, seconds());
        return 0;
    }
    auto signer = crypto::SecretKey::generate();
    service::CreateCheckout checkout =
        [](const store::InvoiceRow& invoice, const service::Quote&,
           const store::PaymentProviderRow& p) -> service::Checked<service::Checkout> {
        return service::Checkout{p.id, "bench-" + invoice.id.substr(0, 8),
                                 "http://127.0.0.1:9/i/" + invoice.id};
    };
    FixedClock clock(k_now);
    int passes = 0;
    int opened = 0;
    for (;;) {
        auto r = service::renewal_pass(*db, signer, checkout, {}, clock, k_lead);
        ++passes;
        opened += r.opened;
        if (r.failed > 0)
            return fail(fmt::format("{} renewal(s) failed", r.failed));
        if (r.opened == 0)
            break;
    }
    std::printf("pass: %d pass(es), %d invoice(s) opened in %.4f s\n", passes, opened, seconds());
    return 0;
}
