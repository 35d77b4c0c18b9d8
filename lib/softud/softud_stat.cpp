/* SPDX-License-Identifier: BSD-3-Clause */
// softud-stat: prints the counters softud devices publish (counters.h, doc/design/softud.md).
//   softud-stat [--dir DIR]                 every device file in DIR
//   softud-stat [--dir DIR] DEVICE          one device, "name value" per line
//   softud-stat [--dir DIR] DEVICE COUNTER  just the value (for scripts)
// DIR defaults to $SOFTUD_STAT_DIR, then /tmp/softud-stat-$UID (softud-run's default).
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "counters.h"

namespace {

int show(const std::string& path, const char* only, bool with_header) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        std::fprintf(stderr, "softud-stat: %s: %s\n", path.c_str(), std::strerror(errno));
        return 1;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < sizeof(softud::CounterFileHeader)) {
        std::fprintf(stderr, "softud-stat: %s: not a softud counter file\n", path.c_str());
        ::close(fd);
        return 1;
    }
    size_t len = static_cast<size_t>(st.st_size);
    void* m = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) {
        std::fprintf(stderr, "softud-stat: %s: %s\n", path.c_str(), std::strerror(errno));
        return 1;
    }
    const auto* h = static_cast<const softud::CounterFileHeader*>(m);
    if (std::memcmp(h->magic, softud::kCounterMagic, 8) != 0 || h->version != softud::kCounterVersion ||
        h->entry_size != sizeof(softud::CounterEntry) ||
        sizeof(*h) + size_t{h->count} * h->entry_size > len) {
        std::fprintf(stderr, "softud-stat: %s: not a softud counter file (version 1)\n", path.c_str());
        ::munmap(m, len);
        return 1;
    }
    const auto* e = reinterpret_cast<const softud::CounterEntry*>(h + 1);
    int rc = only ? 1 : 0;
    if (with_header && !only)
        std::printf("%.*s (pid %d)\n", static_cast<int>(sizeof(h->device)), h->device, h->pid);
    for (uint32_t i = 0; i < h->count; ++i) {
        std::string name(e[i].name, strnlen(e[i].name, sizeof(e[i].name)));
        uint64_t v = __atomic_load_n(&e[i].value, __ATOMIC_RELAXED);
        if (only) {
            if (name == only) {
                std::printf("%llu\n", static_cast<unsigned long long>(v));
                rc = 0;
            }
            continue;
        }
        std::printf("  %-20s %llu\n", name.c_str(), static_cast<unsigned long long>(v));
    }
    if (only && rc)
        std::fprintf(stderr, "softud-stat: no counter '%s'\n", only);
    ::munmap(m, len);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    if (const char* d = std::getenv("SOFTUD_STAT_DIR"); d && *d)
        dir = d;
    else
        dir = "/tmp/softud-stat-" + std::to_string(::getuid());
    std::vector<const char*> args;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
            std::printf("usage: softud-stat [--dir DIR] [DEVICE [COUNTER]]\n");
            return 0;
        } else {
            args.push_back(argv[i]);
        }
    }
    if (args.size() > 2) {
        std::fprintf(stderr, "usage: softud-stat [--dir DIR] [DEVICE [COUNTER]]\n");
        return 2;
    }
    if (!args.empty())
        return show(dir + "/" + args[0] + ".counters", args.size() == 2 ? args[1] : nullptr, false);
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        std::fprintf(stderr, "softud-stat: %s: %s\n", dir.c_str(), std::strerror(errno));
        return 1;
    }
    std::vector<std::string> files;
    while (dirent* ent = ::readdir(d)) {
        std::string n = ent->d_name;
        if (n.size() > 9 && n.compare(n.size() - 9, 9, ".counters") == 0)
            files.push_back(n);
    }
    ::closedir(d);
    std::sort(files.begin(), files.end());
    int rc = 0;
    for (const auto& f : files)
        rc |= show(dir + "/" + f, nullptr, true);
    return rc;
}
