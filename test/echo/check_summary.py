#!/usr/bin/env python3
"""Checks the ECHO-SUMMARY lines of one echo run: [--counted-drops] DIR SERVER CLIENT...
Each client got answers and lost nothing; the servers answered exactly what was sent.
With --counted-drops (peers found through the registry), a request may be lost only as a
drop the server's port counted: an answer to a client it had not resolved yet (oerrors)."""
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
    args = sys.argv[1:]
    counted = args[0] == "--counted-drops"
    if counted:
        args = args[1:]
    directory, server, *clients = args
    s = summary(directory, server)
    sent = lost = 0
    for name in clients:
        c = summary(directory, name)
        assert c["received"] > 0, f"{name} got no answer: {c}"
        assert c["unaccounted"] == 0, f"{name} has unaccounted requests: {c}"
        assert counted or c["lost"] == 0, f"{name} lost requests: {c}"
        assert c["sent"] == c["received"] + c["lost"], f"{name}: {c}"
        sent += c["sent"]
        lost += c["lost"]
    assert s["received"] == sent, f"server received {s['received']} of {sent} requests"
    if counted:
        drops = s["port"]["oerrors"]
        assert s["answered"] == sent and drops == lost, \
            f"server answered {s['answered']} of {sent} requests, its port dropped {drops}; clients lost {lost}"
    else:
        assert s["answered"] == sent and s["tx_drop"] == 0, \
            f"server answered {s['answered']} of {sent} requests: {s}"
    print(f"PASS: server answered all {sent} requests of {len(clients)} clients"
          + (f"; {lost} answers dropped and counted by its port (clients not yet resolved)" if counted else ""))

main()
