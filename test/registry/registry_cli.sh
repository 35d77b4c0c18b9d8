#!/usr/bin/env bash
# rdmaud-registry against a real memcached: publish, list, show (MAC and name), members, purge
# one and all, HMAC key files (forged records refused), concurrent publishers (processes), the
# seed's HRD_REGISTRY_IP, the exit codes of every failure, and two mirrored servers with one dead.
# Usage: registry_cli.sh <rdmaud-registry> <memcached_fixture.sh>
set -uo pipefail
cli=$1
fixture=$2
fails=0
tmp=$(mktemp -d /tmp/rdmaud-cli.XXXXXX)
mc=()
cleanup() {
    [ ${#mc[@]} -gt 0 ] && bash "$fixture" stop "${mc[@]}"
    rm -rf "$tmp"
}
trap cleanup EXIT

check() {  # check <description> <expected exit> <command...>
    local what=$1 want=$2
    shift 2
    timeout 10 "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $what: exit $rc, expected $want"
        sed 's/^/  out: /' "$tmp/out"
        sed 's/^/  err: /' "$tmp/err"
        fails=$((fails + 1))
        return 1
    fi
    echo "ok: $what"
}
has() {  # has <description> <file> <extended regex>
    if ! grep -Eq -- "$3" "$2"; then
        echo "FAIL: $1: no /$3/ in $2:"
        sed 's/^/  /' "$2"
        fails=$((fails + 1))
    fi
}

read -r port wrapper pid < <(bash "$fixture" start) || { echo "FAIL: memcached did not start"; exit 1; }
mc=("$pid" "$wrapper")
reg=(--registry "127.0.0.1:$port" --ns clitest)
gid=fe80:0000:0000:0000:0000:0000:0000:0001

check "publish roce" 0 "$cli" "${reg[@]}" publish --mac 02:00:00:00:00:01 --gid $gid --qpn 17,18 --name alpha --ttl 60
check "publish ib" 0 "$cli" "${reg[@]}" publish --mac 02:00:00:00:00:02 --lid 7 --qpn 33 --name beta --ttl 60
check "list" 0 "$cli" "${reg[@]}" list
has "list shows alpha" "$tmp/out" '^02:00:00:00:00:01 +alpha +roce +fe80:0000:0000:0000:0000:0000:0000:0001 +2 +0x11111111'
has "list shows beta" "$tmp/out" '^02:00:00:00:00:02 +beta +ib +7 +1 '
has "list count" "$tmp/out" '^2 endpoint\(s\) in namespace clitest$'
check "show by name" 0 "$cli" "${reg[@]}" show alpha
has "show qpns" "$tmp/out" '^qpns +17,18$'
has "show mac" "$tmp/out" '^mac +02:00:00:00:00:01$'
check "show by mac" 0 "$cli" "${reg[@]}" show 02:00:00:00:00:02
has "show lid" "$tmp/out" '^address +lid 7$'
check "members" 0 "$cli" "${reg[@]}" members
has "members count" "$tmp/out" '^2 member\(s\)'
check "other namespace is empty" 0 "$cli" --registry "127.0.0.1:$port" --ns elsewhere list
has "empty list" "$tmp/out" '^0 endpoint\(s\)'
check "show unknown" 1 "$cli" "${reg[@]}" show 02:00:00:00:00:09
has "not found names the key" "$tmp/err" 'rdmaud:clitest:ep:02:00:00:00:00:09'
check "show unknown name" 1 "$cli" "${reg[@]}" show nobody
check "purge by name" 0 "$cli" "${reg[@]}" purge alpha
check "purged is gone" 1 "$cli" "${reg[@]}" show alpha
check "purge unknown" 1 "$cli" "${reg[@]}" purge 02:00:00:00:00:09
check "list after purge" 0 "$cli" "${reg[@]}" list
has "one left" "$tmp/out" '^1 endpoint\(s\)'

# The seed's variable, host:port and host only (default port 11211 -> refused here).
check "HRD_REGISTRY_IP host:port" 0 env HRD_REGISTRY_IP=127.0.0.1:$port "$cli" --ns clitest show beta
check "no server at all" 2 env -u HRD_REGISTRY_IP "$cli" list
has "says what is missing" "$tmp/err" 'HRD_REGISTRY_IP'

# Concurrent publishers (separate processes) into one namespace: nobody lost.
for p in $(seq 1 8); do
    (for i in $(seq 1 10); do
        timeout 10 "$cli" --registry "127.0.0.1:$port" --ns crowd publish \
            --mac "$(printf '02:00:00:00:%02x:%02x' "$p" "$i")" --lid $((p * 100 + i)) --qpn 5 --ttl 60 >/dev/null || exit 1
    done) &
done
wait
check "crowd members" 0 "$cli" --registry "127.0.0.1:$port" --ns crowd members
has "all 80 members" "$tmp/out" '^80 member\(s\)'
check "crowd purge all" 0 "$cli" --registry "127.0.0.1:$port" --ns crowd purge
has "purged 80" "$tmp/out" '^purged 80 endpoint\(s\)'
check "crowd empty" 0 "$cli" --registry "127.0.0.1:$port" --ns crowd list
has "crowd list empty" "$tmp/out" '^0 endpoint\(s\)'

# HMAC: a keyed namespace refuses what an unkeyed writer publishes.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/key"
chmod 600 "$tmp/key"
sec=(--registry "127.0.0.1:$port" --ns secure)
check "keyed publish" 0 "$cli" "${sec[@]}" --key-file "$tmp/key" publish --mac 02:00:00:00:01:01 --lid 9 --qpn 9 --name gw --ttl 60
check "keyed show" 0 "$cli" "${sec[@]}" --key-file "$tmp/key" show gw
check "unkeyed reader still parses" 0 "$cli" "${sec[@]}" show gw
check "forged publish (no key)" 0 "$cli" "${sec[@]}" publish --mac 02:00:00:00:01:01 --lid 66 --qpn 666 --name gw --ttl 60
check "forged record rejected" 4 "$cli" "${sec[@]}" --key-file "$tmp/key" show gw
has "cause named" "$tmp/err" 'missing_hmac'
chmod 666 "$tmp/key"
check "world-writable key file refused" 2 "$cli" "${sec[@]}" --key-file "$tmp/key" list
check "missing key file" 2 "$cli" "${sec[@]}" --key-file "$tmp/nokey" list

# Usage errors and a dead server.
check "no command" 2 "$cli" "${reg[@]}"
check "unknown command" 2 "$cli" "${reg[@]}" frobnicate
check "show needs an argument" 2 "$cli" "${reg[@]}" show
check "bad server list" 2 "$cli" --registry "127.0.0.1:0" list
check "bad namespace" 2 "$cli" --registry "127.0.0.1:$port" --ns 'a:b' list
check "bad mac" 2 "$cli" "${reg[@]}" publish --mac 02:00:00:00:00 --lid 1 --qpn 1
check "gid and lid" 2 "$cli" "${reg[@]}" publish --mac 02:00:00:00:00:05 --lid 1 --gid $gid --qpn 1
check "too many queues" 2 "$cli" "${reg[@]}" publish --mac 02:00:00:00:00:05 --lid 1 --qpn 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17
bash "$fixture" stop "${mc[@]}"
mc=()
start=$(date +%s%N)
check "server down" 3 "$cli" --registry "127.0.0.1:$port" list
has "names the server" "$tmp/err" "127.0.0.1:$port"
elapsed=$((($(date +%s%N) - start) / 1000000))
if [ "$elapsed" -gt 2000 ]; then
    echo "FAIL: a dead server took ${elapsed} ms to report"
    fails=$((fails + 1))
fi

# Two servers are mirrors: with one dead, one-shot processes (a fresh client each, so no
# libmemcached ejection to wait for) still publish and read every endpoint through the other.
read -r p1 w1 m1 < <(bash "$fixture" start) || { echo "FAIL: memcached 1 did not start"; exit 1; }
mc=("$w1" "$m1")
read -r p2 w2 m2 < <(bash "$fixture" start) || { echo "FAIL: memcached 2 did not start"; exit 1; }
mc+=("$w2" "$m2")
two=(--registry "127.0.0.1:$p1,127.0.0.1:$p2" --ns mirrors)
for i in 10 11 12 13 14 15 16 17; do
    check "publish 02:..:$i on two servers" 0 "$cli" "${two[@]}" publish --mac "02:00:00:00:02:$i" --lid "$i" --qpn 17 --name "m$i" --ttl 60
done
bash "$fixture" stop "$w1" "$m1"
mc=("$w2" "$m2")
for i in 10 11 12 13 14 15 16 17; do
    check "show m$i with server 1 dead" 0 "$cli" "${two[@]}" show "m$i"
done
for i in 20 21 22 23 24 25 26 27; do
    check "publish 02:..:$i with server 1 dead" 0 "$cli" "${two[@]}" publish --mac "02:00:00:00:02:$i" --lid "$i" --qpn 17 --ttl 60
done
check "list with server 1 dead" 0 "$cli" "${two[@]}" list
has "every endpoint listed" "$tmp/out" "^16 endpoint"
check "the survivor alone holds them all" 0 "$cli" --registry "127.0.0.1:$p2" --ns mirrors list
has "every endpoint on the survivor" "$tmp/out" "^16 endpoint"
bash "$fixture" stop "${mc[@]}"
mc=()

[ "$fails" -eq 0 ] && echo "registry_cli: all passed" || echo "registry_cli: $fails failure(s)"
exit $((fails > 0))
