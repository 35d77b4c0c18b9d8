#!/usr/bin/env python3
"""Checks the ECHO-SUMMARY lines of one echo run: DIR SERVER CLIENT...
Each client got answers and lost nothing; the servers answered exactly what was sent."""
import json
import os
import sys


def summary(directory, name):
    with open(os.path.join(directory, name + ".log")) as f:
        for line in f:
            if line.startswith("ECHO-SUMMARY "):
                return json.loads(line.split(" ", 1)[1])
    sys.exit(f"FAIL: no ECHO-SUMMARY from {name}")


def main():
    directory, server, *clients = sys.argv[1:]
    s = summary(directory, server)
    sent = 0
    for name in clients:
        c = summary(directory, name)
        assert c["received"] > 0, f"{name} got no answer: {c}"
        assert c["lost"] == 0 and c["unaccounted"] == 0, f"{name} lost requests: {c}"
        assert c["sent"] == c["received"], f"{name}: {c}"
        sent += c["sent"]
    assert s["received"] == sent and s["answered"] == sent, \
        f"server answered {s['answered']} of {sent} requests"
    assert s["tx_drop"] == 0, s
    print(f"PASS: server answered all {sent} requests of {len(clients)} clients")


main()
