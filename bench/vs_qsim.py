#!/usr/bin/python3
"""vs_qsim.py QHYBRID QSIM [options] [-- EXTRA QHYBRID SIM OPTIONS]

qhybrid next to qsim (github.com/quantumlib/qsim) on the same machine, same circuits, same
thread count: `qhybrid sim --threads T --expect Z0` (double precision) against qsim's
`qsim_base -t T -f 3` (single precision, its best fusion here), run alternately, whole-process
wall time and user CPU time. QSIM is a qsim_base binary or a qsim source tree (a directory
with lib/ and apps/), which is built first in a temporary directory (make, g++, OpenMP;
--arch gives the instruction set flags, default -march=native; `--arch "-mavx2 -mfma"` for an
AVX2 build). QH_ISA in the environment chooses qhybrid's kernels (QH_ISA=avx2 to compare
AVX2 builds on an AVX-512 machine).

The circuits: the random layered circuit at n = 26 (20 layers of a random rx/ry/rz on every
qubit and a ladder of CNOTs), QASMBench's ising_n26 (tests/data/qasmbench), and the textbook
QFT on 26 qubits (h and cp gates, then swaps) after a layer of rx, so that its input is not a
basis state: by default (which may run it as one FFT) and gate by gate (--no-qft-detect).

Prints one JSON object per circuit: the medians over the rounds of both times and of the
per-round ratio qhybrid / qsim, with the smallest and largest ratio. Options:
  --rounds N     alternating rounds (default 3)
  --threads T    threads of both (default 2)
  --only NAME    run only the circuits whose name contains NAME (repeatable)
"""
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ISING = os.path.join(HERE, '..', 'tests', 'data', 'qasmbench', 'medium', 'ising_n26.qasm')


def layered(n, layers, seed=12345):
    r = random.Random(seed)
    out = ['OPENQASM 2.0;', 'include "qelib1.inc";', 'qreg q[%d];' % n]
    for layer in range(layers):
        for q in range(n):
            out.append('%s(%.17g) q[%d];' % (r.choice(['rx', 'ry', 'rz']),
                                             r.uniform(0, 2 * math.pi), q))
        for q in range(layer % 2, n - 1, 2):
            out.append('cx q[%d],q[%d];' % (q, q + 1))
    return '\n'.join(out) + '\n'


def qft_general(n):
    out = ['OPENQASM 2.0;', 'include "qelib1.inc";', 'qreg q[%d];' % n]
    out += ['rx(%.6f) q[%d];' % (0.3 + 0.1 * q, q) for q in range(n)]
    for j in range(n - 1, -1, -1):
        out.append('h q[%d];' % j)
        for k in range(j - 1, -1, -1):
            out.append('cp(%.17g) q[%d],q[%d];' % (math.pi / 2 ** (j - k), k, j))
    for i in range(n // 2):
        out.append('swap q[%d],q[%d];' % (i, n - 1 - i))
    return '\n'.join(out) + '\n'


def to_qsim(text):
    """The OpenQASM 2 subset of these circuits in qsim's circuit format: the qubit count,
    then one gate per line with its moment (each gate as early as its qubits allow)."""
    n, moment, lines = None, None, []
    for raw in text.splitlines():
        s = raw.split('//')[0].strip()
        if not s or s.startswith(('OPENQASM', 'include', 'creg', 'barrier', 'measure')):
            continue
        if s.startswith('qreg'):
            n = int(re.search(r'\[(\d+)\]', s).group(1))
            moment = [-1] * n
            continue
        m = re.match(r'^(\w+)\s*(?:\((.*)\))?\s*(.*);$', s)
        name, par, args = m.group(1), m.group(2), m.group(3)
        qs = [int(x) for x in re.findall(r'\[(\d+)\]', args)]
        t = max(moment[q] for q in qs) + 1
        for q in qs:
            moment[q] = t
        angle = None
        if par is not None:
            if not re.fullmatch(r'[0-9eE.+\-*/() pi]*', par):
                sys.exit('vs_qsim.py: cannot read the angle %r' % par)
            angle = float(eval(par, {'__builtins__': {}}, {'pi': math.pi}))
        if name in ('h', 'x'):
            lines.append('%d %s %d' % (t, name, qs[0]))
        elif name in ('rx', 'ry', 'rz'):
            lines.append('%d %s %d %.17g' % (t, name, qs[0], angle))
        elif name == 'cx':
            lines.append('%d cnot %d %d' % (t, qs[0], qs[1]))
        elif name in ('cp', 'cu1'):  # qsim's cp applies exp(-i phi) to |11>
            lines.append('%d cp %d %d %.17g' % (t, qs[0], qs[1], -angle))
        elif name == 'swap':
            lines.append('%d sw %d %d' % (t, qs[0], qs[1]))
        else:
            sys.exit('vs_qsim.py: no qsim form for gate %r' % name)
    return '%d\n%s\n' % (n, '\n'.join(lines))


def build_qsim(src, arch, tmp):
    work = os.path.join(tmp, 'qsim-src')
    os.makedirs(work)
    for d in ('lib', 'apps'):
        shutil.copytree(os.path.join(src, d), os.path.join(work, d))
    sys.stderr.write('building qsim_base (%s) from %s\n' % (arch, src))
    subprocess.run(['make', '-s', '-C', os.path.join(work, 'apps'), 'qsim_base.x', 'CXX=g++',
                    'CXXFLAGS=-std=c++17 -O3 -fopenmp -flto=auto', 'ARCHFLAGS=' + arch],
                   check=True)
    return os.path.join(work, 'apps', 'qsim_base.x')


def run(cmd, threads):
    """Wall seconds and the child's user CPU seconds of one run."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors='replace')
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit('vs_qsim.py: failed: %s\n%s' % (' '.join(cmd), err[-400:]))
    return wall, usage.ru_utime


def main():
    args = sys.argv[1:]
    extra = args[args.index('--') + 1:] if '--' in args else []
    args = args[:args.index('--')] if '--' in args else args
    rounds, threads, arch, only, pos = 3, 2, '-march=native', [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ('--rounds', '--threads', '--arch', '--only') and i + 1 < len(args):
            v = args[i + 1]
            if a == '--rounds':
                rounds = int(v)
            elif a == '--threads':
                threads = int(v)
            elif a == '--arch':
                arch = v
            else:
                only.append(v)
            i += 2
        elif a.startswith('-'):
            sys.exit(__doc__)
        else:
            pos.append(a)
            i += 1
    if len(pos) != 2:
        sys.exit(__doc__)
    qh, qsim = pos
    tmp = tempfile.mkdtemp(prefix='qh-vs-qsim-')
    try:
        if os.path.isdir(qsim):
            qsim = build_qsim(qsim, arch, tmp)
        circuits = [('layered_n26', layered(26, 20), []),
                    ('ising_n26', open(ISING).read(), []),
                    ('qft_n26_general', qft_general(26), []),
                    ('qft_n26_general_gates', qft_general(26), ['--no-qft-detect'])]
        for name, text, opts in circuits:
            if only and not any(o in name for o in only):
                continue
            qa = os.path.join(tmp, name + '.qasm')
            qs = os.path.join(tmp, name + '.qsim')
            open(qa, 'w').write(text)
            open(qs, 'w').write(to_qsim(text))
            a_wall, a_user, b_wall, b_user, ratio = [], [], [], [], []
            for _ in range(rounds):
                w, u = run([qh, 'sim', '--threads', str(threads), '--expect', 'Z0'] + opts +
                           extra + [qa], threads)
                a_wall.append(w)
                a_user.append(u)
                w, u = run([qsim, '-c', qs, '-t', str(threads), '-f', '3'], threads)
                b_wall.append(w)
                b_user.append(u)
                ratio.append(a_wall[-1] / b_wall[-1])
            med = statistics.median
            print(json.dumps({
                'bench': 'vs_qsim', 'circuit': name, 'metric': 'wall_ratio',
                'value': round(med(ratio), 3), 'unit': 'qhybrid/qsim',
                'qhybrid_s': round(med(a_wall), 3), 'qsim_s': round(med(b_wall), 3),
                'ratio_min': round(min(ratio), 3), 'ratio_max': round(max(ratio), 3),
                'qhybrid_user_s': round(med(a_user), 3), 'qsim_user_s': round(med(b_user), 3),
                'user_ratio': round(med(a_user) / med(b_user), 3) if med(b_user) > 0 else None,
                'isa': os.environ.get('QH_ISA', 'native'), 'threads': threads,
                'rounds': rounds, 'options': opts + extra}), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
