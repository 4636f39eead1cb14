#include "support/gate_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "keysat/crypto/hash.hpp"
#include "keysat/util/encoding.hpp"

namespace keysat::test {

namespace fs = std::filesystem;

GateFixture::GateFixture() {
    for (const char* name : {"k", "other"})
        if (run({issue_bin(), "keygen", "--unencrypted", "-o", (dir / name).string()}).exit_code !=
            0)
            throw std::runtime_error("keygen failed");
    std::mt19937 rng(42);
    build.resize((3 << 20) + 12345);
    for (auto& c : build)
        c = static_cast<char>(rng());
    fs::path r = releases();
    fs::create_directories(r / "app/1.9.2");
    fs::create_directories(r / "app/1.10.0");
    fs::create_directories(r / "app/2.0.0-rc.1");
    fs::create_directories(r / "free/1.0.0");
    fs::create_directories(dir / "outside");
    spit(r / "app/install.sh", "#!/bin/sh\necho install\n");
    spit(r / "app/1.9.2" / k_platform, "old build");
    spit(r / "app/1.9.2/MANIFEST.json", R"({"written":"by the pipeline"})");
    spit(build_path(), build);
    spit(r / "app/2.0.0-rc.1/aarch64-apple-darwin", "rc build");
    spit(r / "free/MANIFEST.json", R"({"requires_license": false})");
    spit(r / "free/1.0.0" / k_platform, "free build");
    spit(dir / "secret.txt", k_secret);
    spit(dir / "outside" / k_platform, k_secret);
    spit(dir / "outside/MANIFEST.json", k_secret);
    spit(revocations(), "");
    // Planted links out of the tree: to a file, to a directory with a build in it, to /etc, and
    // a whole product.
    fs::create_symlink(dir / "secret.txt", r / "app/1.10.0/evil");
    fs::create_symlink("../../../secret.txt", r / "app/1.10.0/relative-evil");
    fs::create_symlink(dir / "outside", r / "app/6.6.6");
    fs::create_symlink("/etc", r / "app/etc-link");
    fs::create_symlink(dir.path(), r / "escape");
    if (run({issue_bin(), "sign", "-s", key().string(), build_path().string()}).exit_code != 0)
        throw std::runtime_error("sign failed");
}

fs::path GateFixture::build_path() const {
    return releases() / "app/1.10.0" / k_platform;
}

std::string GateFixture::build_sha256() const {
    return hex_encode(crypto::sha256(as_bytes(build)));
}

void GateFixture::start(std::vector<std::string> env, bool default_env) {
    if (default_env) {
        std::vector<std::string> base = {"KEYSAT_RELEASES_DIR=" + releases().string(),
                                         "KEYSAT_VERIFY_KEYS=" + pub().string(),
                                         "KEYSAT_REVOCATION_LIST=" + revocations().string(),
                                         "KEYSAT_GIT_REDIRECT_URL=https://git.example.com/org/app"};
        env.insert(env.begin(), base.begin(), base.end());
    }
    server = std::make_unique<ServerProcess>(dir / "data", std::vector<std::string>{}, env);
}

std::string GateFixture::token(const std::string& product, const std::string& expiry,
                               const fs::path& signer) const {
    auto r = run({issue_bin(), "token", "-s", (signer.empty() ? key() : signer).string(),
                  "--product", product, "--channel-expiry", expiry, "-e", "pro"});
    if (r.exit_code != 0)
        throw std::runtime_error("token failed: " + r.err);
    return r.out.substr(0, r.out.find('\n'));
}

std::pair<std::string, std::string> GateFixture::license(const std::string& slug,
                                                         const std::vector<std::string>& extra) {
    auto product = server->get("/v1/products/" + slug);
    if (product.status != 200)
        throw std::runtime_error("no product " + slug);
    fs::path ledger = dir / "ledger.jsonl";
    std::error_code ec;
    fs::remove(ledger, ec);
    std::vector<std::string> argv = {issue_bin(), "license",
                                     "-s",        key().string(),
                                     "--product", product.body["id"].get<std::string>(),
                                     "--db",      (dir / "data/keysat.db").string(),
                                     "--ledger",  ledger.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run(argv);
    if (r.exit_code != 0)
        throw std::runtime_error("license failed: " + r.err);
    auto record = nlohmann::json::parse(slurp(ledger));
    return {r.out.substr(0, r.out.find('\n')), record["license_id"].get<std::string>()};
}

RawResponse raw_request(int port, const std::string& request) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        throw std::runtime_error("socket failed");
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("connect failed");
    }
    std::size_t sent = 0;
    while (sent < request.size()) {
        ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += static_cast<std::size_t>(n);
    }
    RawResponse out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        out.raw.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    auto end = out.raw.find("\r\n\r\n");
    out.head = out.raw.substr(0, end);
    out.body = end == std::string::npos ? "" : out.raw.substr(end + 4);
    if (out.raw.starts_with("HTTP/1.1 ") && out.raw.size() >= 12)
        out.status = std::stoi(out.raw.substr(9, 3));
    return out;
}

RawResponse raw_get(int port, const std::string& target, const std::string& extra_headers,
                    const std::string& method) {
    return raw_request(port, method + " " + target +
                                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                                 extra_headers + "\r\n");
}

} // namespace keysat::test
