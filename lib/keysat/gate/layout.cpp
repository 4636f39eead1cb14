#include "keysat/gate/layout.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <set>
#include <stop_token>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::gate {

using nlohmann::json;

UniqueFd::~UniqueFd() {
    if (m_fd >= 0)
        ::close(m_fd);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = other.release();
    }
    return *this;
}

int UniqueFd::release() {
    int fd = m_fd;
    m_fd = -1;
    return fd;
}

bool is_safe_segment(std::string_view s) {
    if (s.empty() || s.size() > 128)
        return false;
    auto alnum = [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (!alnum(static_cast<unsigned char>(s[0])))
        return false;
    return std::all_of(s.begin(), s.end(), [&](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return alnum(c) || c == '.' || c == '_' || c == '-' || c == '+';
    });
}

namespace {

struct Version {
    std::vector<std::uint64_t> numbers; // missing parts compare as 0
    std::vector<std::string_view> pre;  // empty: a release
};

std::optional<std::uint64_t> number(std::string_view s) {
    if (s.empty() || s.size() > 18)
        return std::nullopt;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos)
            return out;
        s.remove_prefix(at + 1);
    }
}

std::optional<Version> parse_version(std::string_view s) {
    if (!s.empty() && (s[0] == 'v' || s[0] == 'V'))
        s.remove_prefix(1);
    s = s.substr(0, s.find('+')); // build metadata does not order
    auto dash = s.find('-');
    Version v;
    auto parts = split(s.substr(0, dash), '.');
    if (parts.size() > 4)
        return std::nullopt;
    for (auto p : parts) {
        auto n = number(p);
        if (!n)
            return std::nullopt;
        v.numbers.push_back(*n);
    }
    if (dash != std::string_view::npos) {
        v.pre = split(s.substr(dash + 1), '.');
        for (auto p : v.pre)
            if (p.empty())
                return std::nullopt;
    }
    return v;
}

// <0, 0, >0 like strcmp, semver precedence of pre-release identifiers.
int compare_pre(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
    if (a.empty() || b.empty()) // a release outranks its pre-releases
        return a.empty() == b.empty() ? 0 : a.empty() ? 1 : -1;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        auto na = number(a[i]), nb = number(b[i]);
        if (na && nb) {
            if (*na != *nb)
                return *na < *nb ? -1 : 1;
        } else if (na || nb) {
            return na ? -1 : 1; // numeric identifiers sort below alphanumeric ones
        } else if (int c = a[i].compare(b[i]); c != 0) {
            return c < 0 ? -1 : 1;
        }
    }
    return a.size() == b.size() ? 0 : a.size() < b.size() ? -1 : 1;
}

int compare_versions(std::string_view a, std::string_view b) {
    auto va = parse_version(a), vb = parse_version(b);
    if (!va || !vb) {
        if (va || vb)
            return va ? 1 : -1;
    } else {
        std::size_t n = std::max(va->numbers.size(), vb->numbers.size());
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t x = i < va->numbers.size() ? va->numbers[i] : 0;
            std::uint64_t y = i < vb->numbers.size() ? vb->numbers[i] : 0;
            if (x != y)
                return x < y ? -1 : 1;
        }
        if (int c = compare_pre(va->pre, vb->pre); c != 0)
            return c;
    }
    int c = a.compare(b); // a total order for equal precedence ("1.0" and "1.0.0")
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

bool is_signature_name(std::string_view name) {
    return name.ends_with(".minisig") || name.ends_with(".sig");
}

} // namespace

bool version_less(std::string_view a, std::string_view b) {
    return compare_versions(a, b) < 0;
}

void sort_newest_first(std::vector<std::string>& versions) {
    std::sort(versions.begin(), versions.end(),
              [](const std::string& a, const std::string& b) { return version_less(b, a); });
}

UniqueFd ReleaseTree::open_beneath(const std::string& relative, int flags) const {
    UniqueFd root(::open(m_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root)
        return {};
    if (relative.empty())
        return UniqueFd(::openat(root.get(), ".", flags | O_CLOEXEC));
    if (m_containment == Containment::automatic) {
        // The kernel resolves the path and fails with EXDEV if any step, symbolic links
        // included, would leave the root.
        open_how how{};
        how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        long fd = ::syscall(SYS_openat2, root.get(), relative.c_str(), &how, sizeof how);
        // ENOSYS: a kernel before 5.6; EPERM: a seccomp filter (older container runtimes)
        // that refuses the call. Both take the fallback below.
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
            return UniqueFd(static_cast<int>(fd));
    }
    // Fallback for kernels before 5.6: resolve every link, require the result inside the
    // root's real path, then open that path without following a link at its last step.
    char real_root[PATH_MAX], real[PATH_MAX];
    std::string full = m_root.string() + "/" + relative;
    if (!::realpath(m_root.c_str(), real_root) || !::realpath(full.c_str(), real))
        return {};
    std::string base = real_root, resolved = real;
    if (!resolved.starts_with(base == "/" ? base : base + "/"))
        return {};
    return UniqueFd(::open(real, flags | O_CLOEXEC | O_NOFOLLOW));
}

std::vector<std::string> ReleaseTree::subdirectories(const std::string& relative) const {
    std::vector<std::string> out;
    UniqueFd dir = open_beneath(relative, O_RDONLY | O_DIRECTORY);
    if (!dir)
        return out;
    DIR* d = ::fdopendir(dir.get());
    if (!d)
        return out;
    dir.release(); // closedir closes it
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (!is_safe_segment(name))
            continue;
        // Opened beneath the root like everything else: a planted link to a directory outside
        // is not listed.
        std::string path = relative.empty() ? name : relative + "/" + name;
        if (open_beneath(path, O_PATH | O_DIRECTORY))
            out.push_back(std::move(name));
    }
    ::closedir(d);
    return out;
}

std::vector<std::string> ReleaseTree::products() const {
    auto list = subdirectories("");
    std::sort(list.begin(), list.end());
    return list;
}

std::optional<std::vector<std::string>> ReleaseTree::versions(std::string_view product) const {
    if (!is_safe_segment(product) || !open_beneath(std::string(product), O_PATH | O_DIRECTORY))
        return std::nullopt;
    auto list = subdirectories(std::string(product));
    sort_newest_first(list);
    return list;
}

std::optional<OpenedFile>
ReleaseTree::open_file(const std::vector<std::string_view>& segments) const {
    std::string relative;
    for (auto s : segments) {
        if (!is_safe_segment(s))
            return std::nullopt;
        if (!relative.empty())
            relative += '/';
        relative += s;
    }
    if (relative.empty())
        return std::nullopt;
    UniqueFd fd = open_beneath(relative, O_RDONLY | O_NONBLOCK);
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return std::nullopt;
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags >= 0)
        ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK); // O_NONBLOCK only kept FIFOs from hanging
    OpenedFile f;
    f.fd = std::move(fd);
    f.size = static_cast<std::uint64_t>(st.st_size);
    f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    return f;
}

std::optional<std::string> ReleaseTree::latest_with(std::string_view product,
                                                    std::string_view platform) const {
    if (!is_safe_segment(platform))
        return std::nullopt;
    auto list = versions(product);
    if (!list)
        return std::nullopt;
    for (const auto& v : *list)
        if (open_file({product, v, platform}))
            return v;
    return std::nullopt;
}

// The background hasher: one thread, below normal priority, hashing queued builds one at a time
// (parallel requests for a cold manifest queue the same file once, and nobody reads the same
// gigabytes twice).
class ReleaseTree::Hasher {
  public:
    struct Job {
        std::string key; // path|size|mtime as queued
        std::vector<std::string> segments;
        std::uint64_t size = 0;
    };

    explicit Hasher(const ReleaseTree& tree)
        : m_tree(tree), m_thread([this](std::stop_token st) { run(st); }) {}
    ~Hasher() {
        m_thread.request_stop();
        m_cv.notify_all();
    }

    void enqueue(Job job) {
        std::lock_guard lock(m_mutex);
        if (!m_queued.insert(job.key).second)
            return;
        m_backlog += job.size;
        m_jobs.push_back(std::move(job));
        m_cv.notify_all();
    }
    void scan() {
        std::lock_guard lock(m_mutex);
        m_scan = true;
        m_cv.notify_all();
    }
    std::uint64_t backlog() {
        std::lock_guard lock(m_mutex);
        return m_backlog;
    }

  private:
    void run(std::stop_token stop) {
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10); // requests come first
        for (;;) {
            Job job;
            bool scan = false;
            {
                std::unique_lock lock(m_mutex);
                if (!m_cv.wait(lock, stop, [&] { return m_scan || !m_jobs.empty(); }))
                    return;
                std::swap(scan, m_scan);
                if (!scan) {
                    job = std::move(m_jobs.front());
                    m_jobs.pop_front();
                }
            }
            if (scan)
                m_tree.queue_every_build();
            else
                hash(job, stop);
        }
    }

    void hash(const Job& job, const std::stop_token& stop) {
        std::vector<std::string_view> segments(job.segments.begin(), job.segments.end());
        if (auto f = m_tree.open_file(segments)) {
            // Keyed by what was opened: a file replaced since it was queued is hashed as it is.
            std::string key = job.key.substr(0, job.key.find('|')) + "|" + std::to_string(f->size) +
                              "|" + std::to_string(f->mtime_ns);
            if (!m_tree.cached_sha256(key)) {
                auto digest =
                    crypto::sha256_fd(f->fd.get(), [&] { return !stop.stop_requested(); });
                if (digest)
                    m_tree.remember_sha256(key, hex_encode(*digest));
            }
        }
        std::lock_guard lock(m_mutex);
        m_queued.erase(job.key);
        m_backlog -= std::min(m_backlog, job.size);
    }

    const ReleaseTree& m_tree;
    std::mutex m_mutex;
    std::condition_variable_any m_cv;
    std::deque<Job> m_jobs;
    std::set<std::string> m_queued;
    std::uint64_t m_backlog = 0;
    bool m_scan = false;
    std::jthread m_thread; // last: starts after the members it uses
};

namespace {

constexpr std::uint64_t k_inline_file = 1 << 20;    // hashed inside the request
constexpr std::uint64_t k_inline_budget = 8 << 20;  // per manifest request
constexpr std::uint64_t k_assumed_rate = 200 << 20; // bytes a second, for Retry-After

std::string hash_key(const std::string& relative, const OpenedFile& f) {
    return relative + "|" + std::to_string(f.size) + "|" + std::to_string(f.mtime_ns);
}

} // namespace

ReleaseTree::ReleaseTree(std::filesystem::path root, Containment containment)
    : m_root(std::move(root)), m_containment(containment),
      m_hasher(std::make_unique<Hasher>(*this)) {}

ReleaseTree::~ReleaseTree() = default;

std::optional<std::string> ReleaseTree::cached_sha256(const std::string& key) const {
    std::lock_guard lock(m_hash_mutex);
    auto it = m_hashes.find(key);
    return it == m_hashes.end() ? std::nullopt : std::optional<std::string>(it->second);
}

void ReleaseTree::remember_sha256(const std::string& key, const std::string& hex) const {
    std::lock_guard lock(m_hash_mutex);
    if (m_hashes.size() >= 65536) // bounded (a few MiB): a full cache starts over
        m_hashes.clear();
    m_hashes.emplace(key, hex);
}

void ReleaseTree::hash_all_in_background() const {
    m_hasher->scan();
}

std::uint64_t ReleaseTree::hashing_backlog() const {
    return m_hasher->backlog();
}

std::size_t ReleaseTree::hashes_known() const {
    std::lock_guard lock(m_hash_mutex);
    return m_hashes.size();
}

// The build files of a version directory: safe names, no signatures, no written manifest.
std::vector<std::string> ReleaseTree::build_names(const std::string& dir) const {
    std::vector<std::string> names;
    UniqueFd d = open_beneath(dir, O_RDONLY | O_DIRECTORY);
    if (!d)
        return names;
    if (DIR* listing = ::fdopendir(d.get())) {
        d.release();
        while (dirent* e = ::readdir(listing)) {
            std::string name = e->d_name;
            if (is_safe_segment(name) && !is_signature_name(name) && name != "MANIFEST.json")
                names.push_back(std::move(name));
        }
        ::closedir(listing);
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> ReleaseTree::newest_builds(std::string_view product) const {
    auto list = versions(product);
    if (!list || list->empty())
        return {};
    return build_names(std::string(product) + "/" + list->front());
}

std::vector<ReleaseTree::Build>
ReleaseTree::builds(std::string_view product, std::string_view version, std::size_t limit) const {
    std::vector<Build> out;
    if (!is_safe_segment(product) || !is_safe_segment(version))
        return out;
    for (auto& name : build_names(std::string(product) + "/" + std::string(version))) {
        if (out.size() >= limit)
            break;
        auto f = open_file({product, version, name});
        if (!f)
            continue; // a directory or a link out of the tree: not a build
        Build b;
        b.size = f->size;
        b.minisig = open_file({product, version, name + ".minisig"}).has_value();
        b.sig = open_file({product, version, name + ".sig"}).has_value();
        b.name = std::move(name);
        out.push_back(std::move(b));
    }
    return out;
}

void ReleaseTree::queue_every_build() const {
    for (const auto& product : products()) {
        for (const auto& version : versions(product).value_or(std::vector<std::string>{})) {
            if (open_file({product, version, "MANIFEST.json"}))
                continue; // served as written
            std::string dir = product + "/" + version;
            for (const auto& name : build_names(dir)) {
                auto f = open_file({product, version, name});
                if (!f)
                    continue;
                std::string key = hash_key(dir + "/" + name, *f);
                if (!cached_sha256(key))
                    m_hasher->enqueue({key, {product, version, name}, f->size});
            }
        }
    }
}

ReleaseTree::Manifest ReleaseTree::manifest(std::string_view product,
                                            std::string_view version) const {
    Manifest out;
    if (!is_safe_segment(product) || !is_safe_segment(version))
        return out;
    std::string dir = std::string(product) + "/" + std::string(version);
    if (!open_beneath(dir, O_RDONLY | O_DIRECTORY))
        return out;
    if (auto written = open_file({product, version, "MANIFEST.json"})) {
        if (written->size > (4 << 20))
            return out;
        std::string text(written->size, '\0');
        ssize_t n = ::pread(written->fd.get(), text.data(), text.size(), 0);
        if (n != static_cast<ssize_t>(text.size()))
            return out;
        out.state = Manifest::State::ready;
        out.text = std::move(text);
        return out;
    }
    std::string base = "/releases/" + dir + "/";
    json files = json::array();
    std::uint64_t inline_left = k_inline_budget;
    bool waiting = false;
    for (const auto& name : build_names(dir)) {
        auto f = open_file({product, version, name});
        if (!f)
            continue;
        std::string key = hash_key(dir + "/" + name, *f);
        auto sha = cached_sha256(key);
        if (!sha && f->size <= k_inline_file && f->size <= inline_left) {
            inline_left -= f->size;
            if (auto digest = crypto::sha256_fd(f->fd.get())) {
                sha = hex_encode(*digest);
                remember_sha256(key, *sha);
            }
        }
        if (!sha) {
            m_hasher->enqueue({key, {std::string(product), std::string(version), name}, f->size});
            waiting = true;
            continue;
        }
        if (waiting)
            continue;
        auto sig_path = [&](const char* ext) -> json {
            std::string sig = name + ext;
            return open_file({product, version, sig}) ? json(base + sig) : json(nullptr);
        };
        files.push_back({{"name", name},
                         {"size", f->size},
                         {"sha256", *sha},
                         {"path", base + name},
                         {"minisig", sig_path(".minisig")},
                         {"sig", sig_path(".sig")}});
    }
    if (waiting) {
        out.state = Manifest::State::hashing;
        auto seconds = hashing_backlog() / k_assumed_rate + 1;
        out.retry_after_s = static_cast<int>(std::min<std::uint64_t>(seconds, 60));
        return out;
    }
    out.state = Manifest::State::ready;
    out.text =
        json{{"product", product}, {"version", version}, {"generated", true}, {"files", files}}
            .dump();
    return out;
}

bool ReleaseTree::requires_license(std::string_view product) const {
    auto f = open_file({product, "MANIFEST.json"});
    if (!f || f->size > (1 << 20))
        return true;
    std::string text(f->size, '\0');
    if (::pread(f->fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
        return true;
    // nlohmann's parser takes a NUL byte for the end of the text; JSON never holds a raw one.
    json j = text.find('\0') == std::string::npos ? json::parse(text, nullptr, false) : json();
    if (!j.is_object())
        return true; // unreadable or malformed: stay closed
    auto it = j.find("requires_license");
    return !(it != j.end() && it->is_boolean() && !it->get<bool>());
}

} // namespace keysat::gate
