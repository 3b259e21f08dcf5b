/** The capability check's logic on synthetic /proc values (the real-process cases are in reliability.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveCaps, memlockLimit, missingCaps, PROBE_NEEDS, LAB_NEEDS, CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF, CAP_PERFMON, CAP_IPC_LOCK, CAP_SYS_ADMIN } from '../src/sys/caps.js';

const set = (...caps: number[]): bigint => caps.reduce((s, c) => s | (1n << BigInt(c)), 0n);

test('effectiveCaps and memlockLimit parse /proc text', () => {
  assert.equal(effectiveCaps('Name:\tx\nCapEff:\t000001fffeffffff\n'), 0x1fffeffffffn);
  assert.equal(effectiveCaps('nothing'), null);
  assert.equal(memlockLimit('Max locked memory         8388608              8388608              bytes\n'), 8388608);
  assert.equal(memlockLimit('Max locked memory         unlimited            unlimited            bytes\n'), Infinity);
  assert.equal(effectiveCaps()! > 0n, true, 'this (root) test process has capabilities');
});

test('missingCaps names each missing capability; SYS_ADMIN stands in for BPF and PERFMON; a memlock limit for IPC_LOCK', () => {
  const minimal = set(CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF, CAP_PERFMON, CAP_IPC_LOCK);
  assert.deepEqual(missingCaps(minimal, PROBE_NEEDS, { umemBytes: 16 << 20, memlock: 8 << 20 }), []);
  assert.deepEqual(missingCaps(set(CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN, CAP_IPC_LOCK), PROBE_NEEDS, { umemBytes: 16 << 20 }), []);
  const noLock = set(CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF, CAP_PERFMON);
  assert.deepEqual(missingCaps(noLock, PROBE_NEEDS, { umemBytes: 16 << 20, memlock: 64 << 20 }), [], 'a large enough ulimit -l replaces CAP_IPC_LOCK');
  assert.deepEqual(missingCaps(noLock, PROBE_NEEDS, { umemBytes: 16 << 20, memlock: Infinity }), []);
  assert.match(missingCaps(noLock, PROBE_NEEDS, { umemBytes: 16 << 20, memlock: 8 << 20 }).join(), /CAP_IPC_LOCK or a locked-memory limit of at least 16 MiB \(UMEM; now 8 MiB/);
  assert.deepEqual(missingCaps(0n, PROBE_NEEDS).map((m) => m.split(' (')[0]), ['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_BPF or CAP_SYS_ADMIN', 'CAP_PERFMON or CAP_SYS_ADMIN']);
  assert.deepEqual(missingCaps(minimal, LAB_NEEDS, {}), ['CAP_SYS_ADMIN (network namespaces)']);
});
