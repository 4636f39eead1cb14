#include "keysat/issuing/bulk.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <functional>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::issuing {

namespace {

using nlohmann::json;

enum Field : std::size_t {
    f_product,
    f_email,
    f_expires,
    f_days,
    f_entitlements,
    f_trial,
    f_seats,
    f_fingerprint,
    f_id_key,
    f_license_id,
    f_policy,
    k_field_count
};

constexpr std::array<std::string_view, k_field_count> k_field_names = {
    "product", "email",       "expires", "days",       "entitlements", "trial",
    "seats",   "fingerprint", "id_key",  "license_id", "policy"};

std::optional<Field> field_of(std::string_view name) {
    for (std::size_t i = 0; i < k_field_count; ++i)
        if (k_field_names[i] == name)
            return static_cast<Field>(i);
    return std::nullopt;
}

// One input record, as text fields, before validation. The views point into the input or into
// `owned` strings that outlive the record's validation.
struct RawLine {
    std::size_t line = 0;
    std::string_view content; // the record's own text: the default idempotency key
    std::array<std::optional<std::string_view>, k_field_count> fields{};
    std::optional<std::vector<std::string>> entitlements; // JSON arrays arrive already split
};

struct UuidHash {
    std::size_t operator()(const Uuid& u) const {
        std::size_t h = 0;
        for (int i = 0; i < 8; ++i)
            h = (h << 8) | u.bytes[i];
        return h;
    }
};

using RecordSink = std::function<void(RawLine&)>;

// Splits one CSV record starting at `pos` (RFC 4180: quoted fields may hold commas, doubled
// quotes and newlines) into cells; unescaped quoted cells are stored in `owned`. Advances `pos`
// past the record and `line` past its newlines. Returns an error text for a malformed record.
std::optional<std::string> read_csv_record(std::string_view in, std::size_t& pos, std::size_t& line,
                                           std::vector<std::string_view>& cells,
                                           std::deque<std::string>& owned) {
    cells.clear();
    std::size_t end = in.find('\n', pos);
    std::string_view simple = in.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (simple.find('"') == std::string_view::npos) { // fast path: no quoting
        if (!simple.empty() && simple.back() == '\r')
            simple.remove_suffix(1);
        std::size_t start = 0;
        for (;;) {
            auto comma = simple.find(',', start);
            cells.push_back(
                simple.substr(start, comma == std::string_view::npos ? comma : comma - start));
            if (comma == std::string_view::npos)
                break;
            start = comma + 1;
        }
        pos = end == std::string_view::npos ? in.size() : end + 1;
        ++line;
        return std::nullopt;
    }
    std::string cell;
    bool in_quotes = false, was_quoted = false, bad = false;
    auto finish_cell = [&] {
        owned.push_back(std::move(cell));
        cells.push_back(owned.back());
        cell.clear();
        was_quoted = false;
    };
    while (pos < in.size()) {
        char c = in[pos];
        if (in_quotes) {
            if (c == '"' && pos + 1 < in.size() && in[pos + 1] == '"') {
                cell += '"';
                pos += 2;
                continue;
            }
            if (c == '"')
                in_quotes = false;
            else {
                line += c == '\n';
                cell += c;
            }
            ++pos;
            continue;
        }
        if (c == '\n')
            break;
        if (c == '"') {
            bad = bad || !cell.empty() || was_quoted;
            in_quotes = was_quoted = true;
        } else if (c == ',') {
            finish_cell();
        } else if (c != '\r' || (pos + 1 < in.size() && in[pos + 1] != '\n')) {
            bad = bad || was_quoted;
            cell += c;
        }
        ++pos;
    }
    finish_cell();
    pos = pos < in.size() ? pos + 1 : pos;
    ++line;
    if (in_quotes)
        return "unterminated quoted field";
    if (bad)
        return "a quote inside an unquoted field";
    return std::nullopt;
}

void read_csv(std::string_view in, std::vector<BulkError>& errors, const RecordSink& sink) {
    std::size_t pos = 0, line = 1;
    std::vector<std::string_view> cells;
    std::deque<std::string> owned;
    std::vector<std::optional<Field>> header;
    while (pos < in.size()) {
        std::size_t start = pos, first_line = line;
        owned.clear();
        auto problem = read_csv_record(in, pos, line, cells, owned);
        std::string_view content = trim(in.substr(start, pos - start));
        if (problem) {
            errors.push_back({first_line, "", *problem});
            if (header.empty())
                return;
            continue;
        }
        if (content.empty())
            continue;
        if (header.empty()) {
            for (auto name : cells) {
                auto f = field_of(trim(name));
                if (!f)
                    errors.push_back({first_line, std::string(trim(name)),
                                      "unknown column (expected one of product, email, expires, "
                                      "days, entitlements, trial, seats, fingerprint, id_key, "
                                      "license_id, policy)"});
                else if (std::find(header.begin(), header.end(), f) != header.end())
                    errors.push_back({first_line, std::string(trim(name)), "column appears twice"});
                header.push_back(f);
            }
            continue;
        }
        if (cells.size() != header.size()) {
            errors.push_back({first_line, "",
                              fmt::format("{} fields, but the header has {} columns", cells.size(),
                                          header.size())});
            continue;
        }
        RawLine raw;
        raw.line = first_line;
        raw.content = content;
        for (std::size_t c = 0; c < cells.size(); ++c)
            if (header[c] && !cells[c].empty())
                raw.fields[*header[c]] = cells[c];
        sink(raw);
    }
}

void read_jsonl(std::string_view in, std::vector<BulkError>& errors, const RecordSink& sink) {
    std::size_t line = 0;
    std::array<std::string, k_field_count> values;
    while (!in.empty()) {
        ++line;
        auto nl = in.find('\n');
        std::string_view text = trim(in.substr(0, nl));
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
        if (text.empty())
            continue;
        // nlohmann's parser stops at a NUL byte as if the text ended there; JSON never holds a
        // raw one, and what follows it would still become the default idempotency key.
        json j = text.find('\0') == std::string_view::npos ? json::parse(text, nullptr, false)
                                                           : json(json::value_t::discarded);
        if (j.is_discarded() || !j.is_object()) {
            errors.push_back({line, "", "not a JSON object"});
            continue;
        }
        RawLine raw;
        raw.line = line;
        raw.content = text;
        bool ok = true;
        for (auto& [name, value] : j.items()) {
            auto f = field_of(name);
            if (!f) {
                errors.push_back({line, name, "unknown field"});
                ok = false;
            } else if (value.is_null()) {
                continue;
            } else if (*f == f_entitlements && value.is_array()) {
                std::vector<std::string> list;
                for (auto& e : value) {
                    if (!e.is_string()) {
                        errors.push_back({line, name, "must be an array of strings"});
                        ok = false;
                        break;
                    }
                    list.push_back(e.get<std::string>());
                }
                raw.entitlements = std::move(list);
            } else if (value.is_string() || value.is_boolean() || value.is_number_integer()) {
                values[*f] = value.is_string() ? value.get<std::string>() : value.dump();
                raw.fields[*f] = values[*f];
            } else {
                errors.push_back({line, name, "must be a string, integer or boolean"});
                ok = false;
            }
        }
        if (ok)
            sink(raw);
    }
}

std::optional<std::int64_t> parse_positive(std::string_view s, std::int64_t max) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v <= 0 || v > max)
        return std::nullopt;
    return v;
}

std::optional<bool> parse_bool(std::string_view s) {
    std::string l(s);
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
    if (l == "true" || l == "1" || l == "yes")
        return true;
    if (l == "false" || l == "0" || l == "no")
        return false;
    return std::nullopt;
}

// Validates one record into an item; appends errors naming each bad field.
std::optional<BulkItem> validate(RawLine& raw, const BulkOptions& opt,
                                 std::vector<BulkError>& errors) {
    std::size_t before = errors.size();
    auto fail = [&](std::string_view field, std::string msg) {
        errors.push_back({raw.line, std::string(field), std::move(msg)});
    };
    auto get = [&](Field f) -> const std::string_view* {
        return raw.fields[f] ? &*raw.fields[f] : nullptr;
    };
    bool utf8 = true;
    for (std::size_t f = 0; f < k_field_count; ++f)
        if (raw.fields[f] && !is_valid_utf8(*raw.fields[f])) {
            fail(k_field_names[f], "is not valid UTF-8");
            utf8 = false;
        }
    BulkItem item;
    item.line = raw.line;
    LedgerRecord& rec = item.record;
    LicenseRequest& req = rec.request;
    req.issued_at = opt.now;
    if (const auto* p = get(f_product)) {
        if (auto u = Uuid::parse(*p))
            req.product_id = *u;
        else
            fail("product", fmt::format("'{}' is not a UUID", *p));
    } else if (opt.default_product) {
        req.product_id = *opt.default_product;
    } else {
        fail("product", "missing (give a product column or --product)");
    }
    const auto* expires = get(f_expires);
    const auto* days = get(f_days);
    if (expires && days)
        fail("expires", "give either expires or days, not both");
    else if (expires) {
        if (auto t = parse_date_unix(*expires); t && *t > opt.now)
            req.expires_at = *t;
        else
            fail("expires",
                 fmt::format("'{}' is not a date YYYY-MM-DD after the issue time", *expires));
    } else if (days) {
        if (auto d = parse_positive(*days, 36500))
            req.expires_at = opt.now + *d * 86400;
        else
            fail("days", fmt::format("'{}' is not a whole number of days from 1 to 36500", *days));
    }
    if (raw.entitlements) {
        req.entitlements = std::move(*raw.entitlements);
    } else if (const auto* e = get(f_entitlements)) {
        std::string_view rest = *e;
        while (!rest.empty()) {
            auto semi = rest.find(';');
            auto part = trim(rest.substr(0, semi));
            if (!part.empty())
                req.entitlements.emplace_back(part);
            rest.remove_prefix(semi == std::string_view::npos ? rest.size() : semi + 1);
        }
    }
    if (req.entitlements.size() > 255)
        fail("entitlements", "more than 255 entitlements");
    for (const auto& e : req.entitlements)
        if (e.empty() || e.size() > 255)
            fail("entitlements", fmt::format("'{}' must be 1 to 255 bytes", e));
    if (const auto* t = get(f_trial)) {
        if (auto b = parse_bool(*t))
            req.trial = *b;
        else
            fail("trial", fmt::format("'{}' is not true or false", *t));
    }
    if (const auto* s = get(f_seats)) {
        if (auto n = parse_positive(*s, 1000000))
            rec.max_machines = *n;
        else
            fail("seats", fmt::format("'{}' is not a whole number from 1 to 1000000", *s));
    }
    if (const auto* f = get(f_fingerprint)) {
        // An empty CSV cell is no fingerprint; an empty JSON string is a caller's mistake that
        // signing would refuse, so it is refused here, in the pass that writes nothing.
        if (f->empty())
            fail("fingerprint", "must not be empty (leave the field out for a key that is not "
                                "bound to a machine)");
        req.fingerprint = *f;
    }
    if (const auto* m = get(f_email)) {
        if (m->find('@') == std::string::npos)
            fail("email", fmt::format("'{}' is not an email address", *m));
        rec.email = *m;
    }
    if (const auto* p = get(f_policy))
        rec.policy = *p;
    const auto* id_key = get(f_id_key);
    rec.id_key = id_key ? *id_key : raw.content;
    // The whole line is the key when there is no id_key, cells of ignored columns included; the
    // ledger record must stay valid JSON (found by tests/fuzz, target bulk_csv).
    if (!id_key && utf8 && !is_valid_utf8(raw.content))
        fail("", "the line is not valid UTF-8 (without an id_key it is the idempotency key)");
    if (const auto* l = get(f_license_id)) {
        if (auto u = Uuid::parse(*l))
            req.license_id = *u;
        else
            fail("license_id", fmt::format("'{}' is not a UUID", *l));
    } else {
        req.license_id = opt.ns ? crypto::uuid_v5(*opt.ns, rec.id_key) : crypto::uuid_v4();
    }
    if (errors.size() != before)
        return std::nullopt;
    return item;
}

} // namespace

namespace {

// Reads and validates every record, reporting each valid one to `sink` and each problem to
// `errors`. No state is kept between records.
void scan(std::string_view input, const BulkOptions& options, std::vector<BulkError>& errors,
          const std::function<void(BulkItem&)>& sink) {
    auto accept = [&](RawLine& raw) {
        if (auto item = validate(raw, options, errors))
            sink(*item);
    };
    if (options.format == InputFormat::csv)
        read_csv(input, errors, accept);
    else
        read_jsonl(input, errors, accept);
}

} // namespace

std::vector<BulkError> check_bulk_input(std::string_view input, const BulkOptions& options) {
    std::vector<BulkError> errors;
    std::unordered_map<std::string, std::size_t> seen_keys;
    std::unordered_map<Uuid, std::size_t, UuidHash> seen_ids;
    auto lines = static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n')) + 1;
    seen_keys.reserve(lines);
    seen_ids.reserve(lines);
    scan(input, options, errors, [&](BulkItem& item) {
        auto [it, fresh] = seen_keys.emplace(std::move(item.record.id_key), item.line);
        if (!fresh) {
            errors.push_back(
                {item.line, "id_key", fmt::format("same idempotency key as line {}", it->second)});
            return;
        }
        auto [id_it, id_fresh] = seen_ids.emplace(item.record.request.license_id, item.line);
        if (!id_fresh)
            errors.push_back({item.line, "license_id",
                              fmt::format("same license id as line {}", id_it->second)});
    });
    std::stable_sort(errors.begin(), errors.end(),
                     [](const BulkError& a, const BulkError& b) { return a.line < b.line; });
    return errors;
}

void for_each_bulk_item(std::string_view input, const BulkOptions& options,
                        const std::vector<BulkError>& skip,
                        const std::function<void(BulkItem&)>& sink) {
    std::vector<std::size_t> bad_lines;
    for (const auto& e : skip)
        bad_lines.push_back(e.line);
    std::sort(bad_lines.begin(), bad_lines.end());
    std::vector<BulkError> ignored; // already reported by check_bulk_input
    scan(input, options, ignored, [&](BulkItem& item) {
        if (!std::binary_search(bad_lines.begin(), bad_lines.end(), item.line))
            sink(item);
    });
}

BulkInput parse_bulk_input(std::string_view input, const BulkOptions& options) {
    BulkInput out;
    out.errors = check_bulk_input(input, options);
    for_each_bulk_item(input, options, out.errors,
                       [&](BulkItem& item) { out.items.push_back(std::move(item)); });
    return out;
}

Expected<std::string> sign_bulk_item(const crypto::SecretKey& key, BulkItem& item) {
    KEYSAT_TRY_ASSIGN(lic, issue_license(key, item.record.request));
    item.record.key = std::move(lic);
    item.record.key_id = crypto::key_id_text(key.key_id());
    return format_ledger_record(item.record);
}

std::string describe(const BulkError& e) {
    if (e.field.empty())
        return fmt::format("line {}: {}", e.line, e.message);
    return fmt::format("line {}: {}: {}", e.line, e.field, e.message);
}

} // namespace keysat::issuing
