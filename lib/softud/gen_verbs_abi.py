#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Generate softud's libibverbs ABI glue from the INSTALLED rdma-core library.

Reads the dynamic symbol table and version definitions of the installed libibverbs.so.1 and
writes:
  --map    a GNU ld version script with every version node in the installed library's order
           and parentage, each default-versioned symbol in its node;
  --stubs  a C file with a stub for every exported symbol softud does not implement (listed in
           --implemented): it logs its name once on stderr and fails the way the verbs man pages
           describe failure (NULL + errno, an errno value, -1 + errno, or nothing for void).
           Non-default (compat) versions such as ibv_get_device_list@IBVERBS_1.0 are always
           stubs, bound with .symver: they belong to the pre-1.1 ABI softud does not provide.
Return types come from the installed headers (--headers); symbols they do not declare (the
provider-private IBVERBS_PRIVATE_* ones) use the table below.

Run by meson at build time, so another rdma-core version yields a matching library.
"""
import argparse
import re
import subprocess
import sys

# How a stub fails, by return type class.
PTR, ERRNO, NEG1, VOID, ZERO = 'ptr', 'errno', 'neg1', 'void', 'zero'

# Symbols not declared in the public headers (rdma-core's driver.h is not installed), or whose
# failure convention differs from what their return type suggests.
OVERRIDES = {
    '_verbs_init_and_alloc_context': PTR,
    'verbs_open_device': PTR,
    'verbs_init_cq': ERRNO,
    'verbs_set_ops': VOID,
    'verbs_uninit_context': VOID,
    'verbs_register_driver_34': VOID,
    '__verbs_log': VOID,
    '__ioctl_final_num_attrs': ZERO,   # a count; 0 attributes
    'execute_ioctl': ERRNO,
    'ibv_query_gid_type': ERRNO,
    'ibv_read_ibdev_sysfs_file': NEG1,  # returns -1 and sets errno on failure
    'ibv_read_sysfs_file': NEG1,
    'ibv_get_cq_event': NEG1,
    'ibv_get_async_event': NEG1,
    'ibv_get_device_index': NEG1,
    'ibv_get_device_guid': ZERO,       # 0 is "no GUID"
    'ibv_query_qp_data_in_order': ZERO,  # 0: no ordering guarantee claimed
    'ibv_copy_qp_attr_from_kern': VOID,
    'ibv_copy_ah_attr_from_kern': VOID,
    'ibv_copy_path_rec_from_kern': VOID,
    'ibv_copy_path_rec_to_kern': VOID,
}


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def version_nodes(lib):
    """[(name, parent or None)] in definition order, the BASE entry excluded."""
    out = run(['readelf', '-V', '-W', lib])
    sect = out.split(".gnu.version_d'", 1)[1].split(".gnu.version_r'", 1)[0]
    nodes = []
    for line in sect.splitlines():
        m = re.search(r'Flags: (\S+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)', line)
        if m:
            if m.group(1) != 'BASE':
                nodes.append([m.group(2), None])
            continue
        m = re.search(r'Parent 1: (\S+)', line)
        if m and nodes:
            nodes[-1][1] = m.group(1)
    return [tuple(n) for n in nodes]


def exported_symbols(lib):
    """[(name, version, is_default, type, size)] of defined, versioned dynamic symbols."""
    out = run(['readelf', '--dyn-syms', '-W', lib])
    syms = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].rstrip(':').isdigit():
            continue
        typ, bind, ndx, name = f[3], f[4], f[6], f[7]
        if ndx == 'UND' or bind == 'LOCAL' or typ not in ('FUNC', 'OBJECT'):
            continue
        if '@@' in name:
            base, ver = name.split('@@')
            default = True
        elif '@' in name:
            base, ver = name.split('@')
            default = False
        else:
            continue
        if base == ver:   # the version-definition symbols themselves
            continue
        syms.append((base, ver, default, typ, int(f[2], 0)))
    return syms


def header_return_classes(paths):
    text = ''
    for p in paths:
        try:
            with open(p, encoding='utf-8', errors='replace') as fh:
                text += fh.read() + '\n;\n'
        except OSError:
            pass
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = text.replace('\\\n', ' ')   # join macro continuation lines
    text = re.sub(r'^\s*#[^\n]*', ';', text, flags=re.M)
    classes = {}
    for m in re.finditer(r'([;{}])([^;{}()]*?)\b([A-Za-z_]\w*)\s*\(', text):
        prefix, name = m.group(2).strip(), m.group(3)
        if not prefix or 'static' in prefix or 'typedef' in prefix or '=' in prefix:
            continue
        if name in classes:
            continue
        if prefix.endswith('*'):
            classes[name] = PTR
        elif re.fullmatch(r'(extern\s+)?void', prefix):
            classes[name] = VOID
        else:
            classes[name] = ERRNO
    return classes


def c_ident(s):
    return re.sub(r'[^A-Za-z0-9_]', '_', s)


def stub_body(name, cls):
    log = f'softud_unsupported("{name}", &once);'
    if cls == PTR:
        return f'void *{{fn}}(void)\n{{\n    static int once;\n    {log}\n    errno = EOPNOTSUPP;\n    return NULL;\n}}\n'
    if cls == VOID:
        return f'void {{fn}}(void)\n{{\n    static int once;\n    {log}\n}}\n'
    if cls == NEG1:
        return f'int {{fn}}(void)\n{{\n    static int once;\n    {log}\n    errno = EOPNOTSUPP;\n    return -1;\n}}\n'
    if cls == ZERO:
        return f'unsigned long {{fn}}(void)\n{{\n    static int once;\n    {log}\n    errno = EOPNOTSUPP;\n    return 0;\n}}\n'
    return f'int {{fn}}(void)\n{{\n    static int once;\n    {log}\n    errno = EOPNOTSUPP;\n    return EOPNOTSUPP;\n}}\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--lib', required=True, help='installed libibverbs.so.1')
    ap.add_argument('--headers', nargs='*', default=[], help='installed verbs headers')
    ap.add_argument('--implemented', required=True, help='file: one symbol softud implements per line')
    ap.add_argument('--map', required=True, help='output version script')
    ap.add_argument('--stubs', required=True, help='output C file')
    a = ap.parse_args()

    with open(a.implemented, encoding='utf-8') as fh:
        implemented = {l.split('#')[0].strip() for l in fh} - {''}
    nodes = version_nodes(a.lib)
    syms = exported_symbols(a.lib)
    if not nodes or not syms:
        sys.exit(f'gen_verbs_abi: no version nodes/symbols found in {a.lib}')
    known = {n for n, _ in nodes}
    exported = {s[0] for s in syms}
    unknown = sorted(implemented - exported)
    if unknown:
        sys.exit('gen_verbs_abi: listed as implemented but not exported by ' + a.lib + ': ' + ' '.join(unknown))
    classes = header_return_classes(a.headers)

    by_node = {n: [] for n, _ in nodes}
    for base, ver, default, _typ, _size in syms:
        if ver not in known:
            sys.exit(f'gen_verbs_abi: {base}@{ver}: unknown version node')
        if default:
            by_node[ver].append(base)

    lines = ['/* Generated by gen_verbs_abi.py from ' + a.lib + ': do not edit. */']
    for i, (node, parent) in enumerate(nodes):
        lines.append(node + ' {')
        names = sorted(set(by_node[node]))
        if names:
            lines.append('    global:')
            lines += ['        ' + n + ';' for n in names]
        if i == len(nodes) - 1:
            lines.append('    local: *;')
        lines.append('}' + (' ' + parent if parent else '') + ';')
    with open(a.map, 'w', encoding='utf-8') as fh:
        fh.write('\n'.join(lines) + '\n')

    out = ['/* Generated by gen_verbs_abi.py from ' + a.lib + ': do not edit.',
           ' * Every exported verbs symbol softud does not implement: log once, fail per the man page. */',
           '#include <errno.h>',
           '#include <stddef.h>',
           '',
           'void softud_unsupported(const char *name, int *once);',
           '']
    count = 0
    for base, ver, default, typ, size in syms:
        if default and base in implemented:
            continue
        count += 1
        fn = base if default else f'softud_compat_{c_ident(base)}_{c_ident(ver)}'
        if typ == 'OBJECT':
            out.append(f'unsigned char {fn}[{max(size, 1)}];')
        else:
            cls = OVERRIDES.get(base) or classes.get(base) or ERRNO
            out.append(stub_body(base, cls).replace('{fn}', fn))
        if not default:
            out.append(f'__asm__(".symver {fn}, {base}@{ver}");')
        out.append('')
    out.append(f'/* {count} stubs; {len(implemented)} symbols implemented by softud. */')
    with open(a.stubs, 'w', encoding='utf-8') as fh:
        fh.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()
