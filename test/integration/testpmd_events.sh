#!/usr/bin/env bash
# net_rdmaud link status and removal events through dpdk-testpmd over softud. softud's port
# control file (<SOFTUD_STAT_DIR>/<device>.ctl, doc/design/softud.md) takes A's port down and up
# again, then makes its device fail: A's PMD turns the verbs async events (PORT_ERR, PORT_ACTIVE,
# DEVICE_FATAL) into RTE_ETH_EVENT_INTR_LSC and RTE_ETH_EVENT_INTR_RMV, which testpmd prints;
# "show port info" follows the link, B's port sees no event, and testpmd detaches A's removed port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/testpmd_common.sh"
softud_available
tp_netns
tp_static_pair
ctl() { # STATE: written whole (rename), as an operator's echo > file would be seen once
    echo "$1" >"$TEST_TMP/stat/softud0.ctl.tmp"
    mv "$TEST_TMP/stat/softud0.ctl.tmp" "$TEST_TMP/stat/softud0.ctl"
}
link() { # the last "Link status" A's show port info printed
    tp_run A "show port info 0"
    grep "Link status:" "${TP_LOG[A]}" | tail -1 | awk '{print $3}'
}
expect_eq "A's link at start" "$(link)" up
ctl down
tp_wait A "Port 0: link state change event" 10
expect_eq "A's link after the port went down" "$(link)" down
grep -F "softud0 port 1 is down" "${TP_LOG[A]}"
ctl active
tp_wait_more A "Port 0: link state change event" 1 10
expect_eq "A's link after the port came back" "$(link)" up
expect_eq "link state change events" "$(tp_count A "Port 0: link state change event")" 2
ctl fatal
tp_wait A "Port 0: device removal event" 10
grep -F "reported a fatal error" "${TP_LOG[A]}"
tp_wait A "Device is detached" 10 # testpmd closed the removed port and detached it
expect_eq "B saw no event" "$(tp_count B "event")" 0
tp_quit A
tp_quit B
pass "link down/up and device failure raise LSC and RMV events"
