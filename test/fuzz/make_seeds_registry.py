#!/usr/bin/python3
# Writes the registry fuzzer's seed corpus (test/fuzz/corpus/registry_record): valid records
# (RoCE/IB, signed with the fuzzer's key and namespace, and unsigned) and membership sets, laid
# out as lib/registry/record.h says, each after the harness's control byte (fuzz_registry_record.cpp:
# bit 0 = the harness re-signs the input).
import hashlib, hmac, os, struct, sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'registry_record')
os.makedirs(out, exist_ok=True)
KEY = bytes([0x11]) * 32
NS = b'fuzz'
DOMAIN = b'rdmaud-registry-record-v1'

def record(mac, link, addr, qpns, name, signed):
    hdr = b'RUDE' + bytes([1, 1 if signed else 0, link, len(qpns)]) + mac + bytes([len(name), 0])
    hdr += addr.ljust(16, b'\0')
    hdr += struct.pack('>IHHII', 0x11111111, 1024, 0, 30, 0)
    hdr += struct.pack('>QQ', 0x0123456789abcdef, 1700000000000)
    assert len(hdr) == 64
    body = hdr + b''.join(struct.pack('>I', q) for q in qpns) + name
    if signed:
        body += hmac.new(KEY, DOMAIN + bytes([len(NS)]) + NS + body, hashlib.sha256).digest()
    return body

def members(macs):
    data = b'RUDM' + bytes([1, 0, 0, 0]) + struct.pack('>I', len(macs))
    for m in sorted(macs):
        data += m + b'\0\0' + struct.pack('>I', 2000000000)
    return data

seeds = {
    'roce_plain': (0, record(b'\x02\0\0\0\0\x01', 1, bytes.fromhex('fe800000000000000000000000000001'), [17, 18], b'alpha', False)),
    'roce_signed': (0, record(b'\x02\0\0\0\0\x02', 1, bytes.fromhex('fe800000000000000000000000000002'), [33], b'beta', True)),
    'roce_resigned': (1, record(b'\x02\0\0\0\0\x05', 1, bytes.fromhex('fe800000000000000000000000000005'), [5, 6, 7], b'gamma', True)),
    'ib_signed_16q': (1, record(b'\x02\0\0\0\0\x03', 2, struct.pack('>H', 7), list(range(1, 17)), b'x' * 64, True)),
    'ib_plain_noname': (0, record(b'\x02\0\0\0\0\x04', 2, struct.pack('>H', 0xbfff), [0xffffff], b'', False)),
    'members_3': (0, members([b'\x02\0\0\0\0\x01', b'\x02\0\0\0\0\x02', b'\x02\0\0\0\0\x03'])),
    'members_0': (0, members([])),
}
for name, (ctl, data) in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(bytes([ctl]) + data)
