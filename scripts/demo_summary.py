#!/usr/bin/env python3
"""Prints the echo demo's summary from each machine's ECHO-SUMMARY line and softud
counters; exits non-zero if a client got nothing or a request is unaccounted.
Usage: demo_summary.py WORKDIR SERVER_HOST CLIENT_HOST..."""
import glob
import json
import os
import sys


def summary(host_dir):
    for log in sorted(glob.glob(os.path.join(host_dir, "echo-*.log"))):
        with open(log) as f:
            for line in f:
                if line.startswith("ECHO-SUMMARY "):
                    return json.loads(line.split(" ", 1)[1])
    return None


def main():
    work, server, *clients = sys.argv[1:]
    ok = True
    s = summary(os.path.join(work, server))
    print("==== rdmaud echo demo: summary ====")
    total_sent = total_rx = at_stop = 0
    print(f"{'machine':10} {'sent':>10} {'answered':>10} {'lost':>6} {'Mpps':>8} "
          f"{'p50 us':>8} {'p99 us':>8} {'max us':>8} {'1st answer ms':>14}")
    for c in clients:
        r = summary(os.path.join(work, c))
        if r is None:
            print(f"{c:10} no summary (see its log)")
            ok = False
            continue
        total_sent += r["sent"]
        total_rx += r["received"]
        at_stop += r.get("lost_at_stop", 0)
        lat = r["rtt_us"]
        print(f"{c:10} {r['sent']:>10} {r['received']:>10} {r['lost']:>6} {r['mpps']:>8.3f} "
              f"{lat['p50']:>8.1f} {lat['p99']:>8.1f} {lat['max']:>8.1f} {r.get('first_answer_ms', 0):>14.1f}")
        if r["received"] == 0:
            print(f"  {c}: no answers")
            ok = False
        if r["unaccounted"] != 0:
            print(f"  {c}: {r['unaccounted']} requests unaccounted")
            ok = False
    if s is None:
        print(f"{server:10} no summary (see its log)")
        ok = False
    else:
        print(f"{server:10} received {s['received']}, answered {s['answered']}, "
              f"tx drops {s['tx_drop']}, {s['mpps']:.3f} Mpps over {s['seconds']:.1f} s "
              f"({s['threads']} threads)")
        port = s["port"]
        print(f"{'':10} port: ipackets {port['ipackets']} opackets {port['opackets']} "
              f"imissed {port['imissed']} oerrors {port['oerrors']} rx_nombuf {port['rx_nombuf']}")
    # Requests that got no answer must each be a drop some port counted: a frame to a
    # MAC not yet resolved (oerrors) or one the port could not receive (imissed).
    lost = total_sent - total_rx
    counted = 0
    for name in [server] + clients:
        r = summary(os.path.join(work, name))
        if r is not None:
            counted += r["port"]["oerrors"] + r["port"]["imissed"] + r["port"]["rx_nombuf"]
    unaccounted = lost - counted
    print(f"total: {total_sent} requests, {total_rx} answered, {lost} lost, of which {counted} "
          f"counted as drops by the ports (unresolved peers at start-up), "
          f"{max(unaccounted, 0)} unaccounted")
    if at_stop:
        print(f"  {at_stop} of the lost requests were still unanswered when their client stopped "
              f"(the server stopped answering first: gone, or stalled longer than the timeout)")
    if unaccounted > 0:
        ok = False
    print("RESULT: " + ("OK" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


main()
