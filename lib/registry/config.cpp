/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace rdmaud::registry {
namespace {

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

Status parse_one(std::string_view item, Server* out) {
    auto bad = [&](const char* why) {
        return Status::error(Errc::invalid_argument,
                             "registry server '" + std::string(item) + "': " + why);
    };
    std::string_view host, port;
    if (!item.empty() && item.front() == '[') {
        const size_t close = item.find(']');
        if (close == std::string_view::npos)
            return bad("unterminated [IPv6] address");
        host = item.substr(1, close - 1);
        std::string_view rest = item.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return bad("expected ':port' after ']'");
            port = rest.substr(1);
            if (port.empty())
                return bad("empty port");
        }
        if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
            return bad("not an IPv6 address");
    } else {
        const size_t colon = item.find(':');
        host = item.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = item.substr(colon + 1);
            if (port.empty())
                return bad("empty port");
        }
        if (host.empty())
            return bad("empty host");
        for (char c : host)
            if (!host_char(c))
                return bad("host has characters other than [A-Za-z0-9._-]");
    }
    uint32_t p = kDefaultPort;
    if (!port.empty()) {
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
            return bad("port is not a number");
        p = 0;
        for (char c : port)
            p = p * 10 + uint32_t(c - '0');
        if (p == 0 || p > 65535)
            return bad("port out of 1..65535");
    }
    out->host = std::string(host);
    out->port = static_cast<uint16_t>(p);
    return Status::success();
}

}  // namespace

Status parse_servers(std::string_view list, std::vector<Server>* out) {
    std::vector<Server> servers;
    if (list.empty())
        return Status::error(Errc::invalid_argument, "empty registry server list");
    size_t start = 0;
    while (true) {
        const size_t comma = list.find(',', start);
        Server s;
        Status st = parse_one(list.substr(start, comma - start), &s);
        if (!st)
            return st;
        for (const Server& seen : servers)
            if (seen == s)
                return Status::error(Errc::invalid_argument,
                                     "registry server " + s.host + ":" + std::to_string(s.port) +
                                         " listed twice");
        servers.push_back(std::move(s));
        if (servers.size() > kMaxServers)
            return Status::error(Errc::invalid_argument,
                                 "more than " + std::to_string(kMaxServers) + " registry servers");
        if (comma == std::string_view::npos)
            break;
        start = comma + 1;
    }
    *out = std::move(servers);
    return Status::success();
}

Status servers_from(std::string_view explicit_list, std::vector<Server>* out) {
    if (!explicit_list.empty())
        return parse_servers(explicit_list, out);
    const char* env = std::getenv(std::string(kEnvRegistry).c_str());
    if (env == nullptr || *env == '\0')
        return Status::error(Errc::invalid_argument,
                             "no registry server given and " + std::string(kEnvRegistry) + " is not set");
    Status st = parse_servers(env, out);
    if (!st)
        st.message = std::string(kEnvRegistry) + ": " + st.message;
    return st;
}

Status load_key_file(const std::string& path, HmacKey* out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return Status::error(Errc::invalid_argument,
                             "key file " + path + ": " + std::strerror(errno));
    struct stat sb{};
    if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        ::close(fd);
        return Status::error(Errc::invalid_argument, "key file " + path + ": not a regular file");
    }
    if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
        ::close(fd);
        return Status::error(Errc::invalid_argument,
                             "key file " + path + ": writable by group or others (chmod go-w)");
    }
    HmacKey key(kMaxKeyBytes + 2);
    size_t len = 0;
    while (len < key.size()) {
        const ssize_t n = ::read(fd, key.data() + len, key.size() - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int e = errno;
            ::close(fd);
            return Status::error(Errc::invalid_argument, "key file " + path + ": " + std::strerror(e));
        }
        if (n == 0)
            break;
        len += size_t(n);
    }
    ::close(fd);
    key.resize(len);
    if (!key.empty() && key.back() == '\n')
        key.pop_back();
    if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes)
        return Status::error(Errc::invalid_argument,
                             "key file " + path + ": key must be " + std::to_string(kMinKeyBytes) + ".." +
                                 std::to_string(kMaxKeyBytes) + " bytes, has " + std::to_string(key.size()));
    *out = std::move(key);
    return Status::success();
}

std::string format_servers(const std::vector<Server>& servers) {
    std::string s;
    for (const Server& sv : servers) {
        if (!s.empty())
            s += ',';
        s += sv.host.find(':') != std::string::npos ? "[" + sv.host + "]" : sv.host;
        s += ':' + std::to_string(sv.port);
    }
    return s;
}

}  // namespace rdmaud::registry
