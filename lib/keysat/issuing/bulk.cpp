#include "keysat/issuing/bulk.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "keysat/crypto/uuid_gen.hpp"
#include "keysat/util/date.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::issuing {

namespace {

using nlohmann::json;

constexpr std::string_view k_columns[] = {"product",      "email",      "expires", "days",
                                          "entitlements", "trial",      "seats",   "fingerprint",
                                          "id_key",       "license_id", "policy"};

bool known_column(std::string_view name) {
    return std::find(std::begin(k_columns), std::end(k_columns), name) != std::end(k_columns);
}

// One input record, as text fields, before validation.
struct RawLine {
    std::size_t line = 0;
    std::string content; // the record's own text: the default idempotency key
    std::map<std::string, std::string, std::less<>> fields;
    std::optional<std::vector<std::string>> entitlements; // JSON arrays arrive already split
};

// Splits RFC 4180 CSV into records, tracking the physical line each starts on. Quoted fields may
// hold commas, doubled quotes and newlines.
struct CsvRecord {
    std::size_t line = 0;
    std::string content;
    std::vector<std::string> cells;
};

std::vector<CsvRecord> read_csv(std::string_view in, std::vector<BulkError>& errors) {
    std::vector<CsvRecord> out;
    std::size_t pos = 0, line = 1;
    while (pos < in.size()) {
        CsvRecord rec;
        rec.line = line;
        std::size_t start = pos;
        std::string cell;
        bool in_quotes = false, bad = false;
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
                    if (c == '\n') ++line;
                    cell += c;
                }
                ++pos;
                continue;
            }
            if (c == '\n') break;
            if (c == '"') {
                if (!cell.empty()) bad = true;
                in_quotes = true;
            } else if (c == ',') {
                rec.cells.push_back(std::move(cell));
                cell.clear();
            } else if (c != '\r' || (pos + 1 < in.size() && in[pos + 1] != '\n')) {
                cell += c;
            }
            ++pos;
        }
        rec.content = std::string(in.substr(start, pos - start));
        if (!rec.content.empty() && rec.content.back() == '\r') rec.content.pop_back();
        rec.cells.push_back(std::move(cell));
        if (in_quotes)
            errors.push_back({rec.line, "", "unterminated quoted field"});
        else if (bad)
            errors.push_back({rec.line, "", "a quote inside an unquoted field"});
        else if (!trim(rec.content).empty())
            out.push_back(std::move(rec));
        ++pos; // past the newline
        ++line;
    }
    return out;
}

std::vector<RawLine> read_csv_lines(std::string_view in, std::vector<BulkError>& errors) {
    auto records = read_csv(in, errors);
    std::vector<RawLine> out;
    if (records.empty()) return out;
    std::vector<std::string> header;
    for (auto& h : records.front().cells) {
        std::string name(trim(h));
        if (!known_column(name))
            errors.push_back({records.front().line, name,
                              "unknown column (expected one of product, email, expires, days, "
                              "entitlements, trial, seats, fingerprint, id_key, license_id, "
                              "policy)"});
        if (std::find(header.begin(), header.end(), name) != header.end())
            errors.push_back({records.front().line, name, "column appears twice"});
        header.push_back(name);
    }
    for (std::size_t r = 1; r < records.size(); ++r) {
        auto& rec = records[r];
        if (rec.cells.size() != header.size()) {
            errors.push_back({rec.line, "",
                              fmt::format("{} fields, but the header has {} columns",
                                          rec.cells.size(), header.size())});
            continue;
        }
        RawLine raw{rec.line, std::move(rec.content), {}, std::nullopt};
        for (std::size_t c = 0; c < header.size(); ++c)
            if (!rec.cells[c].empty()) raw.fields[header[c]] = std::move(rec.cells[c]);
        out.push_back(std::move(raw));
    }
    return out;
}

std::vector<RawLine> read_jsonl_lines(std::string_view in, std::vector<BulkError>& errors) {
    std::vector<RawLine> out;
    std::size_t line = 0;
    while (!in.empty()) {
        ++line;
        auto nl = in.find('\n');
        std::string_view text = trim(in.substr(0, nl));
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
        if (text.empty()) continue;
        json j = json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            errors.push_back({line, "", "not a JSON object"});
            continue;
        }
        RawLine raw{line, std::string(text), {}, std::nullopt};
        bool ok = true;
        for (auto& [name, value] : j.items()) {
            if (!known_column(name)) {
                errors.push_back({line, name, "unknown field"});
                ok = false;
            } else if (value.is_null()) {
                continue;
            } else if (name == "entitlements" && value.is_array()) {
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
            } else if (value.is_string()) {
                raw.fields[name] = value.get<std::string>();
            } else if (value.is_boolean() || value.is_number_integer()) {
                raw.fields[name] = value.dump();
            } else {
                errors.push_back({line, name, "must be a string, integer or boolean"});
                ok = false;
            }
        }
        if (ok) out.push_back(std::move(raw));
    }
    return out;
}

std::optional<std::int64_t> parse_positive(std::string_view s, std::int64_t max) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v <= 0 || v > max) return std::nullopt;
    return v;
}

std::optional<bool> parse_bool(std::string_view s) {
    std::string l(s);
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
    if (l == "true" || l == "1" || l == "yes") return true;
    if (l == "false" || l == "0" || l == "no") return false;
    return std::nullopt;
}

// Validates one record into an item; appends errors naming each bad field.
std::optional<BulkItem> validate(RawLine& raw, const BulkOptions& opt,
                                 std::vector<BulkError>& errors) {
    std::size_t before = errors.size();
    auto fail = [&](std::string_view field, std::string msg) {
        errors.push_back({raw.line, std::string(field), std::move(msg)});
    };
    auto get = [&](std::string_view name) -> const std::string* {
        auto it = raw.fields.find(name);
        return it == raw.fields.end() ? nullptr : &it->second;
    };
    for (auto& [name, value] : raw.fields)
        if (!is_valid_utf8(value)) fail(name, "is not valid UTF-8");
    BulkItem item;
    item.line = raw.line;
    LedgerRecord& rec = item.record;
    LicenseRequest& req = rec.request;
    req.issued_at = opt.now;
    if (const auto* p = get("product")) {
        if (auto u = Uuid::parse(*p))
            req.product_id = *u;
        else
            fail("product", fmt::format("'{}' is not a UUID", *p));
    } else if (opt.default_product) {
        req.product_id = *opt.default_product;
    } else {
        fail("product", "missing (give a product column or --product)");
    }
    const auto* expires = get("expires");
    const auto* days = get("days");
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
    } else if (const auto* e = get("entitlements")) {
        std::string_view rest = *e;
        while (!rest.empty()) {
            auto semi = rest.find(';');
            auto part = trim(rest.substr(0, semi));
            if (!part.empty()) req.entitlements.emplace_back(part);
            rest.remove_prefix(semi == std::string_view::npos ? rest.size() : semi + 1);
        }
    }
    if (req.entitlements.size() > 255) fail("entitlements", "more than 255 entitlements");
    for (const auto& e : req.entitlements)
        if (e.empty() || e.size() > 255)
            fail("entitlements", fmt::format("'{}' must be 1 to 255 bytes", e));
    if (const auto* t = get("trial")) {
        if (auto b = parse_bool(*t))
            req.trial = *b;
        else
            fail("trial", fmt::format("'{}' is not true or false", *t));
    }
    if (const auto* s = get("seats")) {
        if (auto n = parse_positive(*s, 1000000))
            rec.max_machines = *n;
        else
            fail("seats", fmt::format("'{}' is not a whole number from 1 to 1000000", *s));
    }
    if (const auto* f = get("fingerprint")) req.fingerprint = *f;
    if (const auto* m = get("email")) {
        if (m->find('@') == std::string::npos)
            fail("email", fmt::format("'{}' is not an email address", *m));
        rec.email = *m;
    }
    if (const auto* p = get("policy")) rec.policy = *p;
    const auto* id_key = get("id_key");
    rec.id_key = id_key ? *id_key : raw.content;
    if (const auto* l = get("license_id")) {
        if (auto u = Uuid::parse(*l))
            req.license_id = *u;
        else
            fail("license_id", fmt::format("'{}' is not a UUID", *l));
    } else {
        req.license_id = opt.ns ? crypto::uuid_v5(*opt.ns, rec.id_key) : crypto::uuid_v4();
    }
    if (errors.size() != before) return std::nullopt;
    return item;
}

} // namespace

BulkInput parse_bulk_input(std::string_view input, const BulkOptions& options) {
    BulkInput out;
    auto raws = options.format == InputFormat::csv ? read_csv_lines(input, out.errors)
                                                   : read_jsonl_lines(input, out.errors);
    std::unordered_map<std::string, std::size_t> seen_keys;
    std::unordered_map<std::string, std::size_t> seen_ids;
    for (auto& raw : raws) {
        auto item = validate(raw, options, out.errors);
        if (!item) continue;
        auto [it, fresh] = seen_keys.emplace(item->record.id_key, item->line);
        if (!fresh) {
            out.errors.push_back(
                {item->line, "id_key", fmt::format("same idempotency key as line {}", it->second)});
            continue;
        }
        auto [id_it, id_fresh] =
            seen_ids.emplace(item->record.request.license_id.to_string(), item->line);
        if (!id_fresh) {
            out.errors.push_back({item->line, "license_id",
                                  fmt::format("same license id as line {}", id_it->second)});
            continue;
        }
        out.items.push_back(std::move(*item));
    }
    std::stable_sort(out.errors.begin(), out.errors.end(),
                     [](const BulkError& a, const BulkError& b) { return a.line < b.line; });
    return out;
}

Expected<std::string> sign_bulk_item(const crypto::SecretKey& key, BulkItem& item) {
    KEYSAT_TRY_ASSIGN(lic, issue_license(key, item.record.request));
    item.record.key = std::move(lic);
    item.record.key_id = crypto::key_id_text(key.key_id());
    return format_ledger_record(item.record);
}

std::string describe(const BulkError& e) {
    if (e.field.empty()) return fmt::format("line {}: {}", e.line, e.message);
    return fmt::format("line {}: {}: {}", e.line, e.field, e.message);
}

} // namespace keysat::issuing
