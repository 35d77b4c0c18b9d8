#!/usr/bin/env python3
# Builds one libFuzzer target with clang (the project itself is built by g++; libFuzzer needs
# clang). Every source, the project's and the harness, is compiled with the fuzzer's coverage
# instrumentation and ASan + UBSan, so the fuzzer is guided by, and checks, our code.
#   build_fuzzer.py --cc CC --cxx CXX --out OUT --objdir DIR [--flag F]... [--link L]... -- SRC...
# .c files are compiled as C (clang), everything else as C++20 (clang++).
import argparse
import concurrent.futures
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--objdir", required=True)
    ap.add_argument("--flag", action="append", default=[])
    ap.add_argument("--link", action="append", default=[])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("sources", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.objdir, exist_ok=True)
    common = ["-g", "-O1", "-fno-omit-frame-pointer", "-fsanitize=fuzzer-no-link,address,undefined",
              "-fno-sanitize-recover=all", "-Wall", "-Wextra"]

    def compile_one(i_src):
        i, src = i_src
        obj = os.path.join(a.objdir, "%02d_%s.o" % (i, os.path.basename(src)))
        if src.endswith(".c"):
            cmd = [a.cc, "-std=gnu11"] + common + a.flag + ["-c", src, "-o", obj]
        else:
            cmd = [a.cxx, "-std=c++20"] + common + a.flag + ["-c", src, "-o", obj]
        r = subprocess.run(cmd, capture_output=True, text=True)
        return obj, r, cmd

    objs = []
    failed = False
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for obj, r, cmd in ex.map(compile_one, enumerate(a.sources)):
            sys.stderr.write(r.stderr)
            if r.returncode != 0:
                sys.stderr.write("failed: %s\n" % " ".join(cmd))
                failed = True
            objs.append(obj)
    if failed:
        return 1
    cmd = [a.cxx, "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all"] + objs + \
        a.link + ["-o", a.out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        sys.stderr.write("failed: %s\n" % " ".join(cmd))
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
