#!/usr/bin/env python3
"""Writes doc/perf.md and doc/perf/*.png from one run of scripts/bench.sh.

Usage: bench_report.py RESULTS_DIR DOC_DIR

Reads the raw logs bench.sh kept in RESULTS_DIR (machine.txt, softud.log, testpmd-*.log,
pmd.log, echo.log, registry-*.log), computes every figure as a ratio to its peer of the same
run, checks it against the project's targets, and draws the plots with gnuplot. Nothing here
is typed in by hand: a benchmark that did not run shows as "not run".
"""
import os
import re
import statistics
import subprocess
import sys

RESULTS, DOC = sys.argv[1], sys.argv[2]
PLOTS = os.path.join(DOC, "perf")


def read(name):
    path = os.path.join(RESULTS, name)
    return open(path, errors="replace").read() if os.path.exists(path) else None


def fmt(x, nd=2):
    return "—" if x is None else f"{x:.{nd}f}"


def num(x):
    return "—" if x is None else f"{x:,}"


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


machine = dict(line.split("=", 1) for line in (read("machine.txt") or "").splitlines() if "=" in line)
# One block per bench.sh invocation into this directory (each starts with date=).
runs = []
for line in (read("machine.txt") or "").splitlines():
    if "=" not in line:
        continue
    k, v = line.split("=", 1)
    if k == "date":
        runs.append({})
    if runs:
        runs[-1][k] = v
steps = {}
for line in (read("steps.txt") or "").splitlines():
    m = re.match(r"(\S+) rc=(\d+) seconds=(\d+)", line)
    if m:
        steps[m.group(1)] = (int(m.group(2)), int(m.group(3)))

# ---------------------------------------------------------------- softud
softud = {"udp": [], "sd-udp": [], "sd-shm": []}
for m in re.finditer(r"^(udp|sd-udp|sd-shm)#\d+ .*\| \S+ \d+ msgs in [\d.]+ s = (\d+) msgs/s", read("softud.log") or "", re.M):
    softud[m.group(1)].append(int(m.group(2)))
rounds = min(len(v) for v in softud.values())
sd_udp_vs_udp = [ratio(softud["sd-udp"][i], softud["udp"][i]) for i in range(rounds)]
shm_vs_udp = [ratio(softud["sd-shm"][i], softud["sd-udp"][i]) for i in range(rounds)]

# ---------------------------------------------------------------- testpmd
tp = {}  # (pmd, size, queues) -> fwd_mpps (None: no frame forwarded)
tp_notes = {}
for name in ("testpmd-size.log", "testpmd-queues.log"):
    for m in re.finditer(r"^pmd=(\S+) size=(\d+) queues=(\d+) (?:fwd_mpps=([\d.]+) a_mpps=[\d.]+(?: note=(\S+))?|skipped: (.*))$",
                         read(name) or "", re.M):
        key = (m.group(1), int(m.group(2)), int(m.group(3)))
        if m.group(6) or m.group(5):
            tp[key] = None
            tp_notes[key] = m.group(6) or m.group(5)
        else:
            tp[key] = float(m.group(4))
doorbells = {}
for m in re.finditer(r"^softud0: (.*)$", read("testpmd-size.log") or "", re.M):
    doorbells = dict(kv.split("=") for kv in m.group(1).split())
    break

# ---------------------------------------------------------------- PMD instructions
pmd_log = read("pmd.log") or ""
ir = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\s+(\S+): PMD self Ir \d+ / \d+ forwarded = ([\d.]+) Ir per packet", pmd_log, re.M)}
mpps = {}
for m in re.finditer(r"^\s+round \d+ (\S+): ([\d.]+) Mpps", pmd_log, re.M):
    mpps.setdefault(m.group(1), []).append(float(m.group(2)))
xs = re.search(r"port 0 xstats: tx_wrs_per_doorbell_x100 (\d+) rx_wrs_per_doorbell_x100 (\d+) tx_signaled (\d+)", pmd_log)
fw = re.search(r"forwarded (\d+) in (\d+) bursts", pmd_log)
peer_counts = sorted(int(k.split(":")[1]) for k in ir if k.startswith("rdmaud:"))

# ---------------------------------------------------------------- registry
def registry(name):
    t = read(name) or ""
    r = re.search(r"resolver end to end: (\d+) peers/s", t)
    b = re.search(r"resolver heap per cached peer: (\d+) bytes", t)
    p = re.search(r"publish: (\d+) endpoints/s", t)
    return (int(r.group(1)) if r else None, int(b.group(1)) if b else None, int(p.group(1)) if p else None)


reg1, reg2 = registry("registry-1.log"), registry("registry-2.log")
reg_n = re.search(r"endpoints=(\d+)", read("registry-1.log") or "")

# ---------------------------------------------------------------- echo
echo_log = read("echo.log") or ""
echo_ratio = re.search(r"^p50 ratio \(uncontended rounds\): median ([\d.]+)x", echo_log, re.M)

# ---------------------------------------------------------------- plots
os.makedirs(PLOTS, exist_ok=True)


def plot(name, script, data):
    """Runs gnuplot with inline data blocks; returns the PNG's path relative to doc/."""
    dat = os.path.join(RESULTS, name + ".dat")
    with open(dat, "w") as f:
        f.write(data)
    png = os.path.join(PLOTS, name + ".png")
    src = f'set terminal pngcairo size 800,450 font "sans,10"\nset output "{png}"\nset grid\nset key outside right\nset termoption noenhanced\n' \
          + script.replace("DATA", dat)
    try:
        subprocess.run(["gnuplot"], input=src, text=True, check=True, capture_output=True)
        return os.path.relpath(png, DOC)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"bench_report: plot {name} failed: {e}", file=sys.stderr)
        return None


pmds = ["rdmaud", "memif", "af_packet", "tap"]
sizes = sorted({k[1] for k in tp if k[2] == 1})
queues = sorted({k[2] for k in tp if k[0] in ("rdmaud", "memif") and k[1] == 64})
img_size = img_queues = img_peers = img_softud = None
if sizes:
    rows = "".join(f"{s} " + " ".join(fmt(tp.get((p, s, 1)), 3) if tp.get((p, s, 1)) is not None else "NaN" for p in pmds) + "\n" for s in sizes)
    img_size = plot("testpmd-size", "set title 'testpmd forwarding rate by frame size (1 queue)'\nset xlabel 'frame bytes'\n"
                    "set ylabel 'Mpps'\nset logscale x 2\n"
                    + "plot " + ", ".join(f"'DATA' using 1:{i + 2} with linespoints title 'net_{p}'" for i, p in enumerate(pmds)), rows)
if queues:
    rows = "".join(f"{q} " + " ".join(fmt(tp.get((p, 64, q)), 3) if tp.get((p, 64, q)) is not None else "NaN" for p in ("rdmaud", "memif")) + "\n" for q in queues)
    img_queues = plot("testpmd-queues", "set title 'testpmd forwarding rate by queue count (64 B, one forwarding lcore)'\n"
                      "set xlabel 'queues'\nset ylabel 'Mpps'\nset logscale x 2\n"
                      "plot 'DATA' using 1:2 with linespoints title 'net_rdmaud', 'DATA' using 1:3 with linespoints title 'net_memif'", rows)
if peer_counts:
    rows = "".join(f"{n} {ir[f'rdmaud:{n}']} {ir.get('ring', 'NaN')} {ir.get('memif', 'NaN')}\n" for n in peer_counts)
    img_peers = plot("pmd-peers", "set title 'PMD self instructions per forwarded packet (rx + tx, bursts of 32)'\n"
                     "set xlabel 'peers'\nset ylabel 'instructions'\nset logscale x 10\nset logscale y 10\n"
                     "plot 'DATA' using 1:2 with linespoints title 'net_rdmaud', 'DATA' using 1:3 with lines title 'net_ring', "
                     "'DATA' using 1:4 with lines title 'net_memif'", rows)
if rounds:
    rows = "".join(f'"{lab}" {med(softud[k]) / 1e6:.3f}\n' for lab, k in
                   (("plain UDP", "udp"), ("softud UDP path", "sd-udp"), ("softud shared memory", "sd-shm")))
    img_softud = plot("softud-paths", "set title 'softud 64-byte UD SEND messages/s (median of rounds)'\nset ylabel 'M msgs/s'\n"
                      "set style fill solid 0.6\nset boxwidth 0.6\nset yrange [0:*]\nunset key\n"
                      "plot 'DATA' using 0:2:xtic(1) with boxes", rows)

# ---------------------------------------------------------------- the report
def target(ok, missed_by=""):
    if ok is None:
        return "not run"
    return "met" if ok else f"**missed**{missed_by}"


L = []
w = L.append
w("# Performance")
w("")
w("Generated by `scripts/bench.sh` from one results directory (its runs listed below; raw logs kept there); do not edit by")
w("hand. Every figure is a ratio to a peer measured in the same run, on the same machine, because")
w("the machine is shared and absolute numbers move from run to run. What bounds each result and the")
w("history of the work are in `doc/perf-softud.md`, `doc/perf-pmd.md`, `doc/perf-registry.md` and")
w("`doc/perf-echo.md`.")
w("")
for r in runs or [machine]:
    w(f"- run: {r.get('date', '?')}, commit {r.get('commit', '?')}, command `{r.get('command', 'scripts/bench.sh')}`, "
      f"load average at start / end {r.get('load_start', '?')} / {r.get('load_end', '?')}")
w(f"- machine: {machine.get('cpu', '?')}, {machine.get('cpus', '?')} CPUs, {machine.get('mem', '?')}; {machine.get('os', '?')}; DPDK {machine.get('dpdk', '?')}")
w("- steps (seconds, exit status): " + ", ".join(f"{k} {v[1]} s{'' if v[0] == 0 else f' (rc {v[0]})'}" for k, v in steps.items()))
w("")
w("## Targets")
w("")
w("| target | this run | verdict |")
w("|---|---|---|")
r = med(shm_vs_udp)
w(f"| softud shared-memory path ≥ 5× its UDP path (64 B msgs/s) | {', '.join(fmt(x, 1) + '×' for x in shm_vs_udp) or 'not run'} | {target(None if r is None else r >= 5, f' ({fmt(r, 1)}×)')} |")
r = med(sd_udp_vs_udp)
w(f"| softud UDP path ≥ 0.8× plain UDP | {', '.join(fmt(x) + '×' for x in sd_udp_vs_udp) or 'not run'} | {target(None if r is None else r >= 0.8, f' ({fmt(r)}×)')} |")
r_memif = ratio(tp.get(("rdmaud", 64, 1)), tp.get(("memif", 64, 1)))
w(f"| testpmd net_rdmaud (softud shared memory) ≥ 0.5× net_memif, 64 B | {fmt(r_memif)}× ({fmt(tp.get(('rdmaud', 64, 1)), 3)} vs {fmt(tp.get(('memif', 64, 1)), 3)} Mpps) | {target(None if r_memif is None else r_memif >= 0.5, f' by {fmt(0.5 / r_memif if r_memif else None, 1)}×')} |")
r_afp = ratio(tp.get(("rdmaud", 64, 1)), tp.get(("af_packet", 64, 1)))
w(f"| testpmd net_rdmaud ≥ 1× net_af_packet (veth), 64 B | {fmt(r_afp)}× | {target(None if r_afp is None else r_afp >= 1)} |")
one = ir.get("rdmaud:1")
w(f"| PMD self cost ≤ 64 instructions per forwarded packet (rx + tx, burst 32) | {fmt(one, 1)} (1 peer) | {target(None if one is None else one <= 64)} |")
if peer_counts:
    spread = max(ir[f"rdmaud:{n}"] for n in peer_counts) / one - 1
    w(f"| the same flat ±10 % from 1 to {peer_counts[-1]:,} peers | {', '.join(fmt(ir[f'rdmaud:{n}'], 1) for n in peer_counts)} ({spread * 100:+.1f} %) | {target(abs(spread) <= 0.10)} |")
if xs and fw:
    tx_wpd, rx_wpd, signaled = int(xs.group(1)) / 100, int(xs.group(2)) / 100, int(xs.group(3))
    sent = int(fw.group(1)) / 2  # each of the two ports sent half of what was forwarded
    w(f"| ≤ 1 doorbell per burst each way (bursts of 32) | {tx_wpd:.1f} WRs per ibv_post_send, {rx_wpd:.1f} per ibv_post_recv | {target(tx_wpd >= 32 and rx_wpd >= 32)} |")
    w(f"| ≤ 1 signaled send in 32 | {signaled} of {sent:.0f} sends (1 in {sent / max(signaled, 1):.0f}) | {target(sent / max(signaled, 1) >= 32)} |")
w(f"| echo RTT p50 ≤ 1.2× `ib_send_lat -c UD` | {echo_ratio.group(1) + '×' if echo_ratio else 'see below'} | {target(None if not echo_ratio else float(echo_ratio.group(1)) <= 1.2)} |")
w("")
missed = []
if r_memif is not None and r_memif < 0.5:
    missed.append(
        "- net_rdmaud against net_memif: net_memif moves a frame with one copy into shared memory;\n"
        "  net_rdmaud's frame also passes through softud, a software verbs device (work requests, the\n"
        "  shared-memory record, completion queues) whose per-packet cost is about 20 times the PMD's\n"
        "  (`doc/perf-pmd.md` section 3, `doc/perf-softud.md`). On a real RDMA NIC that work is the NIC's.")
if r_afp is not None and r_afp < 1:
    missed.append("- net_rdmaud against net_af_packet: see `doc/perf-pmd.md` section 2.")
if echo_ratio and float(echo_ratio.group(1)) > 1.2:
    missed.append("- echo RTT: `doc/perf-echo.md` breaks a round trip down by stage; a round counts only when\n"
                  "  both programs ran in the same timing mode on a machine with < 2 % CPU wait.")
r = med(shm_vs_udp)
if r is not None and r < 5:
    missed.append("- softud shared memory vs its UDP path: `doc/perf-softud.md`.")
if missed:
    w("Where a target is missed, what bounds it (measured; details in the per-area files):")
    w("")
    L.extend(missed)
else:
    w("Every target that ran was met in this run.")
w("")
w("## softud: 64-byte UD SEND messages/s")
w("")
w("Two processes, `test/softud/bench/bench.sh` (receiver's rate):")
w("")
w("| round | plain UDP | softud UDP path | softud shared memory | UDP path / plain UDP | shared memory / UDP path |")
w("|---|---|---|---|---|---|")
for i in range(rounds):
    w(f"| {i + 1} | {softud['udp'][i]:,} | {softud['sd-udp'][i]:,} | {softud['sd-shm'][i]:,} | {fmt(sd_udp_vs_udp[i])}× | {fmt(shm_vs_udp[i], 1)}× |")
if img_softud:
    w("")
    w(f"![softud paths]({img_softud})")
w("")
w("## testpmd forwarding rate")
w("")
w("`scripts/bench-testpmd.sh`: two dpdk-testpmd processes, one forwarding lcore each on its own CPU,")
w("both in `mac` forwarding mode with frames injected by `start tx_first 32` circulating between")
w("them; the rate is B's Tx-pps. net_rdmaud runs over softud's shared-memory path.")
w("")
w("| frame bytes | " + " | ".join(f"net_{p} Mpps" for p in pmds) + " | rdmaud / memif | rdmaud / af_packet |")
w("|---|" + "---|" * (len(pmds) + 2))
for s in sizes:
    cells = []
    for p in pmds:
        v = tp.get((p, s, 1))
        cells.append(fmt(v, 3) if v is not None else f"— ({tp_notes.get((p, s, 1), 'not run')})")
    w(f"| {s} | " + " | ".join(cells) + f" | {fmt(ratio(tp.get(('rdmaud', s, 1)), tp.get(('memif', s, 1))))}× | {fmt(ratio(tp.get(('rdmaud', s, 1)), tp.get(('af_packet', s, 1))))}× |")
if img_size:
    w("")
    w(f"![testpmd by frame size]({img_size})")
if queues:
    w("")
    w("By queue count (64 B; one forwarding lcore polls every queue; net_rdmaud resolves through a")
    w("registry so A's flows spread over B's queues by software RSS):")
    w("")
    w("| queues | net_rdmaud Mpps | net_memif Mpps | rdmaud / memif |")
    w("|---|---|---|---|")
    for q in queues:
        w(f"| {q} | {fmt(tp.get(('rdmaud', 64, q)), 3)} | {fmt(tp.get(('memif', 64, q)), 3)} | {fmt(ratio(tp.get(('rdmaud', 64, q)), tp.get(('memif', 64, q))))}× |")
    if img_queues:
        w("")
        w(f"![testpmd by queues]({img_queues})")
if doorbells:
    w("")
    w("softud's counters of A's device over the 64-byte run: " + ", ".join(f"{k} {v}" for k, v in doorbells.items()) + ".")
w("")
w("## The PMD's own cost")
w("")
w("`scripts/bench-pmd-instr.sh`: one process, two ports, io-style forwarding at full bursts of 32;")
w("callgrind self instructions of the PMD's shared object per forwarded packet (rx + tx) in the")
w("measured loop, and wall-clock Mpps (softud included for net_rdmaud).")
w("")
w("| configuration | instructions per packet | × net_ring | × net_memif | Mpps (median) |")
w("|---|---|---|---|---|")
for k in [f"rdmaud:{n}" for n in peer_counts] + ["ring", "memif"]:
    if k in ir:
        label = f"net_rdmaud, {int(k.split(':')[1]):,} peers" if k.startswith("rdmaud:") else f"net_{k}"
        w(f"| {label} | {ir[k]:.1f} | {fmt(ratio(ir[k], ir.get('ring')), 1)} | {fmt(ratio(ir[k], ir.get('memif')))} | {fmt(med(mpps.get(k, [])), 3)} |")
if img_peers:
    w("")
    w(f"![PMD instructions by peers]({img_peers})")
w("")
w("## Echo round trip")
w("")
w("`scripts/bench-echo.sh`: alternating rounds of perftest `ib_send_lat -c UD` and rdmaud-echo")
w("(window 1) on the same two softud devices; its tables. perftest prints its latency in steps of")
w("0.01 µs one way, so a p50 ratio near 1.2 is known to about ±1 %.")
w("")
# The script's tables with their captions and summary lines; a blank line wherever a table
# starts or ends (Markdown needs it). perftest prints its latency in steps of 0.01 us (one way),
# so a ratio near 1.2 is known to about +-1 %.
keep = ("|", "RTT,", "load =", "p50 ratio", "p99 ratio", "Echo Mpps", "Server loop steps", "STAGES")
prev_table = None
for line in echo_log.splitlines():
    if not (line.startswith(keep) or re.match(r"\d+ of the rounds count", line)):
        continue
    table = line.startswith("|")
    if prev_table is not None and (table != prev_table or line.startswith(("Server loop", "Echo Mpps"))):
        w("")
    elif prev_table is False and not table:
        line = "  " + line if line.startswith("load =") else line
    w(line + ("" if table else "  "))
    prev_table = table
if not echo_log:
    w("not run")
w("")
w("## Registry")
w("")
if reg1[0] is not None:
    w(f"`registry_bench {reg_n.group(1) if reg_n else '?'} --servers 1|2` (a real memcached per server, resolver end to end):")
    w("")
    w("| servers | resolved peers/s | publish endpoints/s | bytes per cached peer |")
    w("|---|---|---|---|")
    for n, r in ((1, reg1), (2, reg2)):
        w(f"| {n} | {num(r[0])} | {num(r[2])} | {num(r[1])} |")
    w("")
    w(f"Two mirrored servers / one: resolution {fmt(ratio(reg2[0], reg1[0]))}×, publish {fmt(ratio(reg2[2], reg1[2]))}× (every write goes to both).")
else:
    w("not run")
w("")
open(os.path.join(DOC, "perf.md"), "w").write("\n".join(L))
