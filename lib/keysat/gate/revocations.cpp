#include "keysat/gate/revocations.hpp"

#include <fmt/format.h>

#include "keysat/license/token.hpp"
#include "keysat/util/file.hpp"

namespace keysat::gate {

RevocationList::RevocationList(std::filesystem::path path)
    : m_path(std::move(path)), m_ids(std::make_shared<const Ids>()) {}

Expected<std::size_t> RevocationList::reload() {
    if (m_path.empty())
        return std::size_t{0};
    // Messages name no path: the admin route returns them over HTTP.
    auto text = read_small_file(m_path, 256 << 20);
    if (!text) {
        std::string why = text.error().message;
        if (why.starts_with(m_path.string() + ": "))
            why = why.substr(m_path.string().size() + 2);
        return usage_error(fmt::format("revocation list not loaded: {}", why));
    }
    auto ids = license::parse_revocation_list(*text);
    if (!ids)
        return usage_error(ids.error().message);
    auto fresh = std::make_shared<const Ids>(ids->begin(), ids->end());
    std::size_t n = fresh->size();
    std::lock_guard lock(m_mutex);
    m_ids = std::move(fresh);
    return n;
}

bool RevocationList::contains(const std::string& id) const {
    std::shared_ptr<const Ids> ids;
    {
        std::lock_guard lock(m_mutex);
        ids = m_ids;
    }
    return ids->count(id) > 0;
}

std::size_t RevocationList::size() const {
    std::lock_guard lock(m_mutex);
    return m_ids->size();
}

} // namespace keysat::gate
