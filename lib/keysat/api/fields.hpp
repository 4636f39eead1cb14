#pragma once
// Typed reads of request JSON fields; the first problem becomes a 400 naming the field.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace keysat::api {

class Fields {
  public:
    explicit Fields(const nlohmann::json& body) : m_body(body) {}

    std::optional<std::string> text(const char* name, bool required = false,
                                    std::size_t max = 4096);
    std::optional<std::int64_t> integer(const char* name, std::int64_t lo, std::int64_t hi,
                                        bool required = false);
    std::optional<bool> boolean(const char* name);
    std::optional<std::vector<std::string>> strings(const char* name);

    // Empty when every read was fine; otherwise the message for the first problem.
    const std::string& error() const { return m_error; }

  private:
    const nlohmann::json* get(const char* name, bool required);
    void fail(std::string message) {
        if (m_error.empty())
            m_error = "bad request: " + std::move(message);
    }
    const nlohmann::json& m_body;
    std::string m_error;
};

} // namespace keysat::api
