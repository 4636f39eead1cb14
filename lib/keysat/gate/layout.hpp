#pragma once
// The releases directory of the release gate (http-api.md, "Release gate"):
// <root>/<product>/<version>/<platform> with optional .minisig and .sig files beside each build,
// <product>/<version>/MANIFEST.json, <product>/MANIFEST.json and <product>/install.sh.
//
// Every name that reaches the filesystem passes is_safe_segment, and every open resolves beneath
// the root (openat2 RESOLVE_BENEATH; a realpath containment check where the kernel lacks it), so
// neither URL tricks nor symbolic links planted in the tree can reach a file outside it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keysat::gate {

// A file descriptor that closes itself.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : m_fd(fd) {}
    ~UniqueFd();
    UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const { return m_fd; }
    explicit operator bool() const { return m_fd >= 0; }
    // Gives up ownership.
    int release();

  private:
    int m_fd = -1;
};

// True when `s` may name a product, version or file: 1 to 128 characters of [A-Za-z0-9._+-],
// the first a letter or digit. So never ".", "..", a hidden file, a separator, a backslash, a
// percent sign, NUL or any non-ASCII byte.
bool is_safe_segment(std::string_view s);

// Version order: semantic versions (an optional "v", one to four numeric parts, an optional
// "-pre.release" and "+build") in semver precedence, so 1.10.0 sorts after 1.9.2 and 1.0.0-rc.1
// before 1.0.0; names that are not versions sort below every version, by text. True when `a` is
// older than `b`.
bool version_less(std::string_view a, std::string_view b);
// Sorts newest first.
void sort_newest_first(std::vector<std::string>& versions);

// An open regular file of the tree.
struct OpenedFile {
    UniqueFd fd;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
};

// Which containment mechanism opens use (tests force the fallback).
enum class Containment { automatic, realpath_only };

class ReleaseTree {
  public:
    explicit ReleaseTree(std::filesystem::path root,
                         Containment containment = Containment::automatic);
    ~ReleaseTree(); // stops the background hasher
    ReleaseTree(const ReleaseTree&) = delete;
    ReleaseTree& operator=(const ReleaseTree&) = delete;

    const std::filesystem::path& root() const { return m_root; }

    // Product directory names, sorted.
    std::vector<std::string> products() const;
    // A product's version directory names, newest first; nullopt when there is no such product.
    std::optional<std::vector<std::string>> versions(std::string_view product) const;
    // Opens the regular file at the joined segments (each must be safe); nullopt when it is
    // missing, not a regular file, or would resolve outside the root.
    std::optional<OpenedFile> open_file(const std::vector<std::string_view>& segments) const;
    // The newest version of `product` that has a file named `platform`.
    std::optional<std::string> latest_with(std::string_view product,
                                           std::string_view platform) const;
    // The version's manifest: MANIFEST.json as the build pipeline wrote it, or one generated
    // from the files (names, sizes, SHA-256, signature paths). Files up to 1 MiB (8 MiB in all
    // per call) are hashed at once; larger ones by the background hasher, and until it is done
    // the manifest is not ready, so a request never holds a worker for long.
    struct Manifest {
        enum class State { ready, hashing, missing } state = State::missing;
        std::string text;      // when ready
        int retry_after_s = 0; // when hashing: a guess from the bytes still queued
    };
    Manifest manifest(std::string_view product, std::string_view version) const;
    // Queues every build of every version without a written MANIFEST.json for the background
    // hasher (keysat-serve calls it at start); returns at once.
    void hash_all_in_background() const;
    // Bytes queued for the background hasher (0 when it is idle).
    std::uint64_t hashing_backlog() const;
    // Files whose SHA-256 is known (hashed since start).
    std::size_t hashes_known() const;
    // The build file names of the product's newest version (no signatures, no manifest);
    // empty when it has none.
    std::vector<std::string> newest_builds(std::string_view product) const;
    // A version's builds (no signatures, no manifest) by name, with their size and which
    // signatures lie beside them; empty when the version has none.
    struct Build {
        std::string name;
        std::uint64_t size = 0;
        bool minisig = false; // <name>.minisig
        bool sig = false;     // <name>.sig
    };
    // At most `limit`, first by name.
    std::vector<Build> builds(std::string_view product, std::string_view version,
                              std::size_t limit = 1000) const;
    // False only when <product>/MANIFEST.json is a JSON object with "requires_license": false.
    bool requires_license(std::string_view product) const;

  private:
    // Opens `relative` (segments joined by '/') beneath the root with `flags`; -1 on failure.
    UniqueFd open_beneath(const std::string& relative, int flags) const;
    std::vector<std::string> subdirectories(const std::string& relative) const;
    std::optional<std::string> cached_sha256(const std::string& key) const;
    void remember_sha256(const std::string& key, const std::string& hex) const;
    std::vector<std::string> build_names(const std::string& dir) const;
    void queue_every_build() const;

    class Hasher;
    std::filesystem::path m_root;
    Containment m_containment;
    mutable std::mutex m_hash_mutex;
    mutable std::map<std::string, std::string> m_hashes; // path|size|mtime -> hex SHA-256
    std::unique_ptr<Hasher> m_hasher;                    // started with the tree
};

} // namespace keysat::gate
