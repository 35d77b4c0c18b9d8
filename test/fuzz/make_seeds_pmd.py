#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpora of the net_rdmaud fuzzers: test/fuzz/corpus/devargs (mode byte +
devargs text, see fuzz_devargs.cpp) and test/fuzz/corpus/rx_burst (ring size byte + operations,
see fuzz_rx_burst.cpp). Usage: make_seeds_pmd.py (no arguments; files are rewritten)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

DEVARGS = {
    'all_keys': (0, 'dev=softud0,port=1,gid_index=0,qkey=0x11111111,mac=02:00:00:00:00:01,'
                    'tx_inline=64,tx_signal=16'),
    'peers': (0, 'peers=02:00:00:00:00:02@127.0.0.3/0x12/0x1111;02:00:00:00:00:03@fe80::1/300;'
                 '02:00:00:00:00:04@0x5/7'),
    'registry': (0, 'registry=127.0.0.1:11211;[::1]:11212;memcached.lab,ns=lab,name=a.b-c_1,'
                    'registry_key=/etc/rdmaud/key,registry_ttl=30'),
    'bad_port': (0, 'port=0'),
    'bad_key': (0, 'dev=softud0,colour=blue'),
    'bad_qkey': (0, 'qkey=0x80000000'),
    'twice': (0, 'dev=a,dev=b'),
    'multicast_mac': (0, 'mac=01:00:5e:00:00:01'),
    'list_value': (0, 'dev=[a,b],port=2'),
    'peers_only': (1, '02:00:00:00:00:02@127.0.0.3/18;02:00:00:00:00:05@::ffff:10.0.0.1/0xffffff/0x7fffffff;'),
    'peers_dup': (1, '02:00:00:00:00:02@1/2;02:00:00:00:00:02@2/3'),
    'env_registry': (2, '127.0.0.1:11211,localhost:1'),
    'env_bad': (2, 'host:0'),
    'twice_parse': (3, 'dev=x,peers=02:00:00:00:00:09@9/9,mac=02:aa:bb:cc:dd:ee'),
    'peers_file': (4, '# lab peers\n02:00:00:00:00:02@127.0.0.3/18\n\n  02:00:00:00:00:03@fe80::1/300;'
                      '02:00:00:00:00:04@0x5/7  # two on a line\n'),
    'peers_file_bad': (4, '02:00:00:00:00:02@127.0.0.3/18\n02:00:00:00:00:02@127.0.0.4/19\n'),
}


def complete(ok, length, status=200):
    return bytes([0, 0 if ok else status]) + struct.pack('<I', length)[:3]


def burst(n):
    return bytes([2, n])


def count(probe):
    return bytes([6, probe])


RX = {
    # 64 slots; 20 frames, delivered in two bursts
    'basic': bytes([3]) + b''.join(complete(True, 40 + 60 + i) for i in range(20)) + burst(16) + burst(32),
    # errors, runts (shorter than GRH + Ethernet header) and good frames mixed
    'errors_runts': bytes([2]) + complete(False, 100) + complete(True, 50) + complete(True, 40) +
                    complete(True, 1514 + 40) + complete(False, 0xffffff, 255) + burst(8),
    # the application drains the pool: nombuf, then delivery resumes after it frees
    'exhaustion': bytes([3]) + bytes([3, 255, 3, 255, 3, 255, 3, 255]) + complete(True, 200) +
                  complete(True, 300) + burst(4) + bytes([4]) + complete(True, 400) + burst(4),
    # ibv_poll_cq fails once, then ibv_post_recv refuses one repost: the ring runs short
    'verbs_errors': bytes([0]) + complete(True, 100) + bytes([5, 1]) + burst(8) + bytes([5, 2]) +
                    burst(8) + b''.join(complete(True, 64 + 40) for _ in range(12)) + burst(64),
    # 8 slots wrapping many times, bursts larger than what is pending, a zero-size burst
    'wrap': bytes([0]) + (b''.join(complete(True, 100 + i) for i in range(7)) + burst(5) + burst(0) +
                          burst(255)) * 6,
    # the full frame size the slot holds (GRH + data room)
    'full_size': bytes([1]) + complete(True, 40 + 2048) + complete(True, 40 + 2049) + burst(2),
    # rx_queue_count between bursts: completions stashed, more completed after the count, bursts
    # smaller than the stash, counts again (descriptor status probed at offsets 3, 9, 200)
    'count': bytes([1]) + b''.join(complete(True, 100 + i) for i in range(6)) + count(3) +
             complete(False, 0) + complete(True, 30) + burst(4) + count(9) + complete(True, 140) +
             burst(2) + count(200) + burst(64) + count(0),
    # every slot of an 8-slot ring completed and counted (a full stash), the CQ failing once
    # under a count, a refused repost (UNAVAIL slots), counts wrapping the stash
    'count_full': bytes([0]) + b''.join(complete(True, 64 + 40) for _ in range(8)) + count(7) +
                  burst(3) + bytes([5, 1]) + count(1) + complete(True, 90) + bytes([5, 2]) + burst(5) +
                  count(7) + (b''.join(complete(True, 100) for _ in range(3)) + count(4) + burst(2)) * 5,
}
# The same inputs through the per-mbuf lkey burst (first byte's bit 7).
RX.update({'lkey_' + k: bytes([v[0] | 0x80]) + v[1:] for k, v in list(RX.items())})


def write(sub, seeds):
    d = os.path.join(HERE, 'corpus', sub)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


write('devargs', {k: bytes([m]) + v.encode() for k, (m, v) in DEVARGS.items()})
write('rx_burst', RX)
