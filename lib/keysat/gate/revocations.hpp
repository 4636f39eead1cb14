#pragma once
// The release gate's revocation list (formats.md §2): lower-case hex SHA-256 ids of revoked
// download tokens and license keys, one per line, reloadable while requests read it.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "keysat/util/error.hpp"

namespace keysat::gate {

class RevocationList {
  public:
    // An empty list; `path` empty means no file is configured.
    explicit RevocationList(std::filesystem::path path = {});

    // Reads the file again and swaps the new list in whole. On failure (unreadable, a bad line)
    // the list in use stays as it was. Returns the number of ids now in use.
    Expected<std::size_t> reload();
    // True when the id (token_revocation_id of the text as transmitted) is listed.
    bool contains(const std::string& id) const;
    std::size_t size() const;
    const std::filesystem::path& path() const { return m_path; }

  private:
    using Ids = std::unordered_set<std::string>;
    std::filesystem::path m_path;
    mutable std::mutex m_mutex; // guards the pointer only; readers keep their snapshot
    std::shared_ptr<const Ids> m_ids;
};

} // namespace keysat::gate
