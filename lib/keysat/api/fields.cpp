#include "keysat/api/fields.hpp"

#include <fmt/format.h>

namespace keysat::api {

const nlohmann::json* Fields::get(const char* name, bool required) {
    auto it = m_body.find(name);
    if (it == m_body.end() || it->is_null()) {
        if (required)
            fail(fmt::format("'{}' is required", name));
        return nullptr;
    }
    return &*it;
}

std::optional<std::string> Fields::text(const char* name, bool required, std::size_t max) {
    const auto* v = get(name, required);
    if (v == nullptr)
        return std::nullopt;
    if (!v->is_string()) {
        fail(fmt::format("'{}' must be a string", name));
        return std::nullopt;
    }
    auto s = v->get<std::string>();
    if (s.size() > max) {
        fail(fmt::format("'{}' is longer than {} bytes", name, max));
        return std::nullopt;
    }
    if (required && s.empty()) {
        fail(fmt::format("'{}' must not be empty", name));
        return std::nullopt;
    }
    return s;
}

std::optional<std::int64_t> Fields::integer(const char* name, std::int64_t lo, std::int64_t hi,
                                            bool required) {
    const auto* v = get(name, required);
    if (v == nullptr)
        return std::nullopt;
    if (!v->is_number_integer() || v->get<std::int64_t>() < lo || v->get<std::int64_t>() > hi) {
        fail(fmt::format("'{}' must be a whole number from {} to {}", name, lo, hi));
        return std::nullopt;
    }
    return v->get<std::int64_t>();
}

std::optional<bool> Fields::boolean(const char* name) {
    const auto* v = get(name, false);
    if (v == nullptr)
        return std::nullopt;
    if (!v->is_boolean()) {
        fail(fmt::format("'{}' must be true or false", name));
        return std::nullopt;
    }
    return v->get<bool>();
}

std::optional<std::vector<std::string>> Fields::strings(const char* name) {
    const auto* v = get(name, false);
    if (v == nullptr)
        return std::nullopt;
    std::vector<std::string> out;
    if (v->is_array())
        for (const auto& e : *v)
            if (e.is_string() && !e.get<std::string>().empty() && e.get<std::string>().size() < 256)
                out.push_back(e.get<std::string>());
    if (!v->is_array() || out.size() != v->size() || out.size() > 255) {
        fail(fmt::format("'{}' must be an array of up to 255 non-empty strings", name));
        return std::nullopt;
    }
    return out;
}

} // namespace keysat::api
