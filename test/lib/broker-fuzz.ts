/**
 * A protocol fuzzer for the broker (afxdp serve): structured mutations of a valid open request,
 * sent over the socket the way a hostile but allowed client would — every field with the wrong
 * type, negative, -0, huge, a huge power of two, Infinity, empty, nested; unknown keys,
 * `__proto__`, duplicate keys; 64 KiB records and larger; fds attached; a request split over two
 * records or repeated on one connection. Each case must be answered within ANSWER_MS with a
 * one-line refusal or a grant within the broker's limits, and a legitimate request must be served
 * after it. Run as a process of its own (as the allowed, unprivileged uid), it prints one JSON
 * summary line; the test and the soak script watch the broker's memory and fds meanwhile.
 *
 *   node dist/test/lib/broker-fuzz.js SOCKET IFNAME CASES SEED [LEGIT_EVERY]
 */
import fc from 'fast-check';
import fs from 'node:fs';
import { native } from '../../src/native.js';
import { receiveMessage, requestQueues, BROKER_PROTOCOL, MAX_MESSAGE, type Answer } from '../../src/sys/broker-wire.js';

/** the longest a broker may take to answer a hostile request */
export const ANSWER_MS = 1000;
/** the owner's limits the fuzzed broker runs with (afxdp serve flags) and the client checks grants against */
export const FUZZ_LIMITS = { ringSize: 4096, frameCount: 8192 };
export const FUZZ_FLAGS = ['--max-ring-size', String(FUZZ_LIMITS.ringSize), '--max-frame-count', String(FUZZ_LIMITS.frameCount), '--request-timeout', '2'];

const FIELDS = ['version', 'op', 'ifname', 'queues', 'options'] as const;
const OPTIONS = ['mode', 'bind', 'clock', 'match', 'udpPort', 'strategy', 'simulateNoMeta', 'hints', 'frameCount', 'frameSize', 'sg', 'ringSize', 'txRingSize', 'txMetadataLen', 'busyPoll'] as const;
/** literals spliced into the JSON text as they are (JSON.stringify cannot write -0, 1e999 or nesting this deep) */
const RAW = ['-0', '-1', '0', '1e999', '-1e999', '1e308', '1.5', '4294967296', '1073741824', '2147483648', '9007199254740993', '4503599627370496', '65536', '1048576', '"2048"', '"auto"', '""', 'null', 'true', '[]', '{}', '[1,[2,[3]]]', '{"a":{"b":{"c":1}}}', '"\\u0000"', '"x\\ny"', `[${'['.repeat(500)}${']'.repeat(500)}]`, '{"__proto__":{"ringSize":1}}'];

export type FuzzCase =
  | { kind: 'field'; path: string; raw: string }
  | { kind: 'unknown-key'; where: 'top' | 'options'; key: string }
  | { kind: 'duplicate-key'; key: string; first: string; second: string }
  | { kind: 'drop'; field: (typeof FIELDS)[number] }
  | { kind: 'size'; bytes: number }
  | { kind: 'fds'; count: number }
  | { kind: 'split'; at: number }
  | { kind: 'repeat'; times: number }
  | { kind: 'bytes'; data: number[] }
  | { kind: 'valid'; options: Record<string, unknown> };

/** A valid request: small rings, so a grant costs little. */
export function baseRequest(ifname: string): { version: number; op: string; ifname: string; queues: number[]; options: Record<string, unknown> } {
  return { version: BROKER_PROTOCOL, op: 'open', ifname, queues: [0], options: { ringSize: 64, frameCount: 256, strategy: 'auto', match: 'udp' } };
}

/** fast-check arbitrary of one case. */
export function fuzzCase(): fc.Arbitrary<FuzzCase> {
  const rawValue = fc.oneof(fc.constantFrom(...RAW), fc.integer().map(String), fc.constantFrom(...[8, 16, 30, 31, 32, 52, 53, 62, 63].map((k) => String(2 ** k))), fc.string({ maxLength: 20 }).map((t) => JSON.stringify(t)));
  const path = fc.oneof(fc.constantFrom(...FIELDS.map((f) => f as string)), fc.constantFrom(...OPTIONS.map((o) => `options.${o}`)), fc.constantFrom('queues.0', 'queues.1'));
  const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'program', 'force', 'netns', 'netnsFd', 'cpu', 'rt', 'poll', 'toString', ''), fc.string({ maxLength: 12 }));
  return fc.oneof(
    { weight: 8, arbitrary: fc.record({ kind: fc.constant('field' as const), path, raw: rawValue }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('unknown-key' as const), where: fc.constantFrom('top' as const, 'options' as const), key }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('duplicate-key' as const), key: fc.constantFrom('ringSize', 'frameCount', 'strategy', 'txRingSize'), first: rawValue, second: rawValue }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), field: fc.constantFrom(...FIELDS) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('size' as const), bytes: fc.constantFrom(MAX_MESSAGE - 1, MAX_MESSAGE, MAX_MESSAGE + 1, 100_000) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fds' as const), count: fc.integer({ min: 1, max: 64 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('split' as const), at: fc.integer({ min: 1, max: 80 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), data: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 1500 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('valid' as const),
        options: fc.record(
          {
            ringSize: fc.constantFrom(8, 64, 512, 2048, 4096, 8192),
            frameCount: fc.constantFrom(64, 256, 4096, 8192, 16384),
            txRingSize: fc.constantFrom(0, 64, 8192),
            frameSize: fc.constantFrom(2048, 4096),
            strategy: fc.constantFrom('auto'),
            match: fc.constantFrom('udp'),
            busyPoll: fc.constantFrom(0, 50),
            sg: fc.constantFrom(true, false, 'auto'),
          },
          { requiredKeys: [] },
        ),
      }),
    },
  );
}

/** The records a case sends (text or bytes) and how many fds go with the first. */
export function recordsOf(c: FuzzCase, ifname: string): { records: Uint8Array[]; fds: number } {
  const enc = (t: string): Uint8Array => new TextEncoder().encode(t);
  const base = baseRequest(ifname);
  const text = JSON.stringify(base);
  const PH = '"@@RAW@@"';
  switch (c.kind) {
    case 'field': {
      const [a, b] = c.path.split('.') as [string, string | undefined];
      const req = structuredClone(base) as Record<string, unknown>;
      if (b === undefined) req[a] = '@@RAW@@';
      else if (a === 'queues') (req.queues as unknown[])[Number(b)] = '@@RAW@@';
      else (req.options as Record<string, unknown>)[b] = '@@RAW@@';
      return { records: [enc(JSON.stringify(req).replace(PH, c.raw))], fds: 0 };
    }
    case 'unknown-key': {
      const at = c.where === 'top' ? text.lastIndexOf('}') : text.lastIndexOf('}', text.length - 2);
      return { records: [enc(`${text.slice(0, at)},${JSON.stringify(c.key)}:1${text.slice(at)}`)], fds: 0 };
    }
    case 'duplicate-key': {
      const at = text.lastIndexOf('}', text.length - 2);
      return { records: [enc(`${text.slice(0, at)},"${c.key}":${c.first},"${c.key}":${c.second}${text.slice(at)}`)], fds: 0 };
    }
    case 'drop': {
      const req = structuredClone(base) as Record<string, unknown>;
      delete req[c.field];
      return { records: [enc(JSON.stringify(req))], fds: 0 };
    }
    case 'size': {
      const pad = c.bytes - text.length - '"pad":"",'.length;
      return { records: [enc(`{"pad":"${'x'.repeat(Math.max(0, pad))}",${text.slice(1)}`)], fds: 0 };
    }
    case 'fds':
      return { records: [enc(text)], fds: c.count };
    case 'split': {
      const at = Math.min(c.at, text.length - 1);
      return { records: [enc(text.slice(0, at)), enc(text.slice(at))], fds: 0 };
    }
    case 'repeat':
      return { records: Array.from({ length: c.times }, () => enc(text)), fds: 0 };
    case 'bytes':
      return { records: [Uint8Array.from(c.data)], fds: 0 };
    case 'valid':
      return { records: [enc(JSON.stringify({ ...base, options: c.options }))], fds: 0 };
  }
}

export interface CaseResult {
  /** the slowest answer of the case, ms */
  ms: number;
  answers: number;
  granted: number;
  /** what went wrong (empty: the case passed) */
  problems: string[];
}

/** Sends one case on a connection of its own and checks every answer. */
export function runCase(socket: string, ifname: string, c: FuzzCase): CaseResult {
  const n = native();
  const { records, fds } = recordsOf(c, ifname);
  const res: CaseResult = { ms: 0, answers: 0, granted: 0, problems: [] };
  const conn = n.unixConnect(socket);
  const passed: number[] = [];
  try {
    for (let i = 0; i < fds; i++) passed.push(fs.openSync('/dev/null', 'r'));
    for (let i = 0; i < records.length; i++) {
      const t0 = performance.now();
      if (n.sendFds(conn, records[i]!, Int32Array.from(i === 0 ? passed : [])) !== 0) break; // the broker answered and closed
      const got = receiveMessage(conn, 5 * ANSWER_MS);
      const ms = performance.now() - t0;
      res.ms = Math.max(res.ms, ms);
      if (got === 'closed') break; // closed after an earlier refusal on this connection
      if (got === null) {
        res.problems.push(`no answer within ${5 * ANSWER_MS} ms`);
        break;
      }
      for (const f of got.fds) n.close(f);
      res.answers++;
      if (ms > ANSWER_MS) res.problems.push(`answered after ${ms.toFixed(0)} ms`);
      const a = got.msg as Answer | null;
      if (a === null || typeof a !== 'object' || a.version !== BROKER_PROTOCOL) {
        res.problems.push(`not an answer: ${JSON.stringify(a)?.slice(0, 100)}`);
        break;
      }
      if (a.ok) {
        res.granted++;
        const g = a.grant!;
        if (g.ringSize > FUZZ_LIMITS.ringSize || g.frameCount > FUZZ_LIMITS.frameCount || g.txRingSize > FUZZ_LIMITS.ringSize) res.problems.push(`a grant over the limits: ${JSON.stringify({ ringSize: g.ringSize, frameCount: g.frameCount, txRingSize: g.txRingSize })}`);
        if (got.fds.length !== 2 * g.sockets.length + (g.hasCounters ? 1 : 0) + (g.mapInUse ? 1 : 0)) res.problems.push(`a grant with ${got.fds.length} fds`);
      } else {
        const m = a.error?.message ?? '';
        if (typeof m !== 'string' || m.length === 0 || m.includes('\n') || m.length > 300) res.problems.push(`a refusal that is not one short line: ${JSON.stringify(m).slice(0, 120)}`);
        if (!a.error?.code?.startsWith('E')) res.problems.push(`a refusal without a code: ${JSON.stringify(a.error)}`);
        if (/^\s+at /m.test(m) || /TypeError|ReferenceError|undefined|NaN/.test(m)) res.problems.push(`a refusal that leaks internals: ${m.slice(0, 120)}`);
      }
    }
  } finally {
    for (const f of passed) fs.closeSync(f);
    n.close(conn);
  }
  return res;
}

/** A legitimate client: asks for queue 0 with small rings, must get it; gives it back at once. */
export function legitimate(socket: string, ifname: string): number {
  const t0 = performance.now();
  let got: ReturnType<typeof requestQueues> | null = null;
  // the previous case's connection is closed, but the broker may see this request first: a short retry
  for (let i = 0; got === null; i++) {
    try {
      got = requestQueues(socket, { ifname, queues: [0], options: baseRequest(ifname).options });
    } catch (e) {
      if (i >= 50 || !/held by another client|whose program differs/.test((e as Error).message)) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
  const { grant, fds, conn } = got;
  for (const f of fds) native().close(f);
  native().close(conn);
  if (grant.queues[0] !== 0) throw new Error(`legitimate client got ${JSON.stringify(grant.queues)}`);
  return performance.now() - t0;
}

export interface FuzzSummary {
  cases: number;
  answers: number;
  granted: number;
  legit: number;
  /** slowest answer to a fuzz case, ms; and its p99 */
  maxMs: number;
  p99Ms: number;
  maxLegitMs: number;
  /** the first failures: case and problem */
  failures: Array<{ case: FuzzCase | string; problems: string[] }>;
  byKind: Record<string, number>;
}

/** Runs `cases` cases (seeded), a legitimate request after every `legitEvery`th. */
export function fuzz(socket: string, ifname: string, cases: number, seed: number, legitEvery = 1): FuzzSummary {
  const s: FuzzSummary = { cases: 0, answers: 0, granted: 0, legit: 0, maxMs: 0, p99Ms: 0, maxLegitMs: 0, failures: [], byKind: {} };
  const times: number[] = [];
  for (const c of fc.sample(fuzzCase(), { numRuns: cases, seed })) {
    let r: CaseResult;
    try {
      r = runCase(socket, ifname, c);
    } catch (e) {
      r = { ms: 0, answers: 0, granted: 0, problems: [`the case threw: ${(e as Error).message}`] };
    }
    s.cases++;
    if (s.cases % 500 === 0) process.stderr.write(`broker-fuzz: ${s.cases} cases, ${s.failures.length} failures, slowest ${s.maxMs.toFixed(0)} ms\n`);
    s.byKind[c.kind] = (s.byKind[c.kind] ?? 0) + 1;
    s.answers += r.answers;
    s.granted += r.granted;
    s.maxMs = Math.max(s.maxMs, r.ms);
    times.push(r.ms);
    if (r.problems.length > 0 && s.failures.length < 20) s.failures.push({ case: c.kind === 'bytes' ? `bytes(${c.data.length})` : c, problems: r.problems });
    if (s.cases % legitEvery === 0) {
      try {
        s.maxLegitMs = Math.max(s.maxLegitMs, legitimate(socket, ifname));
        s.legit++;
      } catch (e) {
        if (s.failures.length < 20) s.failures.push({ case: c.kind === 'bytes' ? `bytes(${c.data.length})` : c, problems: [`the legitimate client after it was not served: ${(e as Error).message}`] });
      }
    }
  }
  times.sort((a, b) => a - b);
  s.p99Ms = times[Math.floor(times.length * 0.99)] ?? 0;
  return s;
}

if (process.argv[1]?.endsWith('broker-fuzz.js')) {
  const [socket, ifname, cases, seed, every] = process.argv.slice(2);
  const s = fuzz(socket!, ifname!, Number(cases), Number(seed), Number(every ?? 1));
  process.stdout.write(`${JSON.stringify(s)}\n`);
}
