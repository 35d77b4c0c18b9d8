# Helpers for the net_rdmaud MAC filter tests (sourced after lib.sh and testpmd_common.sh).
# shellcheck shell=bash

# Frames per burst of the sender (testpmd --burst): mf_send sends exactly one burst.
TP_BURST=32

# mf_send NAME DST: NAME (forwarding stopped, fwd rxonly) sends one burst of TP_BURST txonly
# frames to DST.
mf_send() {
    tp_cmd "$1" "set eth-peer 0 $2"
    tp_cmd "$1" "start tx_first 1" # returns once the burst is sent
    tp_run "$1" "stop"
}

# mf_expect NAME LABEL RX FILTERED: wait (at most 5 s) until NAME's port has received exactly RX
# frames and dropped exactly FILTERED in its MAC filter; fail at once when either goes past.
mf_expect() {
    local name=$1 label=$2 want_rx=$3 want_f=$4 i rx f
    for ((i = 0; i < 25; i++)); do
        tp_cmd "$name" "show port stats 0"
        tp_run "$name" "show port xstats 0"
        rx=$(tp_stat "$name" RX-packets) f=$(tp_stat "$name" rx_mac_filtered)
        [ "$rx" -gt "$want_rx" ] || [ "$f" -gt "$want_f" ] && break
        [ "$rx" = "$want_rx" ] && [ "$f" = "$want_f" ] && { echo "ok: $label: RX-packets $rx, rx_mac_filtered $f"; return 0; }
        sleep 0.1
    done
    fail "$label: RX-packets $rx, rx_mac_filtered $f; expected $want_rx and $want_f"
}
