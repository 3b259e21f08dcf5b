/**
 * Property-based fuzzing with fast-check, ≥ 10 000 cases per target (AFXDP_FUZZ_RUNS raises it):
 * the metadata decoder, the verifier-log helpers, the test-frame parser and the CLI argument
 * parsing (parsers and the whole commander setup). Failures print a seed and a shrunk case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommanderError, InvalidArgumentError } from 'commander';
import { MetaReader, META_MAGIC, META_MAX_LEN, META_MIN_LEN, META_SIZE, F_HW_TS, F_RX_HASH, F_VLAN } from '../src/xdp/meta.js';
import { extractVerifierLog, verifierMessage } from '../src/xdp/program.js';
import { readPayload, writeUdpFrame, setSeq, setTxTimestamp, setRunId, FRAME_MIN } from '../src/wire/frame.js';
import { intArg, numArg, choiceArg, ifnameArg, ringSizeArg } from '../src/cli/args.js';
import { createProgram, usageErrorLine } from '../src/cli/main.js';
import { BpfObject, bundledObject } from '../src/xdp/program.js';
import { CounterReader } from '../src/xdp/counters.js';
import { native } from '../src/native.js';
import { udpMatch, prng } from './lib/hostile.js';
import { readFileSync, mkdtempSync, rmSync, openSync, closeSync, fstatSync, readSync } from 'node:fs';
import os from 'node:os';
import { PcapngWriter } from '../src/report/pcapng.js';
import { PacketBatch } from '../src/rx/batch.js';
import path from 'node:path';
import { ROOT } from './lib/cli.js';
import { explainLog, oneLineExplanation, renderExplanation, EXPLAIN_SCHEMA, CLASSES, decodeCtxAccess, PROG_TYPES, type Explanation } from '../src/explain/index.js';

const RUNS = Math.max(10_000, Number(process.env.AFXDP_FUZZ_RUNS) || 0);
const params = { numRuns: RUNS };
const counted: Record<string, number> = {};
/** wraps a property so the test can assert afterwards that every case really ran */
function count<A extends unknown[]>(name: string, f: (...a: A) => void): (...a: A) => void {
  return (...a: A) => {
    counted[name] = (counted[name] ?? 0) + 1;
    f(...a);
  };
}

// ---------------------------------------------------------------- metadata decoder

const FRAME_SHIFT = 11; // 2 KiB frames
const FRAMES = 4;

function umemOf(bytes: Uint8Array): { words: Uint32Array; bytes: Uint8Array; frameShift: number } {
  return { words: new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2), bytes, frameShift: FRAME_SHIFT };
}

test(`MetaReader: random UMEM bytes at random addresses never throw and never yield an out-of-bounds struct (${RUNS} cases)`, () => {
  const size = FRAMES << FRAME_SHIFT;
  fc.assert(
    fc.property(
      // 8 KiB of random bytes per case: drawn from a seeded PRNG, 30× faster than fc.uint8Array
      fc.nat().map((seed) => {
        const rnd = prng(seed);
        const b = new Uint8Array(size);
        for (let i = 0; i < size; i++) b[i] = (rnd() * 256) | 0;
        return b;
      }),
      fc.nat(size + 64),
      fc.boolean(),
      count('meta-random', (bytes, addr, plantMagic) => {
        if (plantMagic && addr >= 8 && addr <= size) {
          // make the random bytes look valid more often: right magic, random length
          const dv = new DataView(bytes.buffer);
          dv.setUint32(addr - 4, (META_MAGIC | (bytes[0]! & 0xff)) >>> 0, true);
        }
        const r = new MetaReader(umemOf(bytes));
        const ok = r.read(addr);
        assert.equal(typeof ok, 'boolean');
        if (!ok) {
          assert.equal(r.flags, 0, 'no flags without valid metadata');
          return;
        }
        const base = (addr >>> FRAME_SHIFT) << FRAME_SHIFT;
        assert.ok(r.len >= META_MIN_LEN && r.len <= META_MAX_LEN && r.len % 4 === 0, `len ${r.len}`);
        assert.ok(addr - r.len >= base, 'the struct lies inside the frame');
        if (r.len < META_SIZE) assert.equal(r.flags & (F_HW_TS | F_RX_HASH | F_VLAN), 0, 'no flags for fields the struct does not have');
      }),
    ),
    params,
  );
  assert.equal(counted['meta-random'], RUNS);
});

test(`MetaReader: any struct written at any (also unaligned) address reads back exactly (${RUNS} cases)`, () => {
  const size = FRAMES << FRAME_SHIFT;
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  const r = new MetaReader(umemOf(bytes));
  fc.assert(
    fc.property(
      fc.nat(FRAMES - 1),
      fc.integer({ min: META_MIN_LEN / 4, max: META_MAX_LEN / 4 }).map((n) => n * 4),
      fc.nat(512),
      fc.array(fc.nat({ max: 0xffffffff }), { minLength: 10, maxLength: 10 }),
      fc.nat(0xff),
      count('meta-roundtrip', (frame, len, slack, v, version) => {
        bytes.fill(0xa5);
        const addr = (frame << FRAME_SHIFT) + len + slack;
        if (addr >= (frame + 1) << FRAME_SHIFT) return;
        dv.setUint32(addr - 4, (META_MAGIC | version) >>> 0, true);
        dv.setUint32(addr - 8, len, true);
        dv.setUint32(addr - 12, v[0]!, true); // flags
        dv.setUint32(addr - 16, v[1]!, true); // rx_queue
        dv.setUint32(addr - 24, v[2]!, true); // xdp ts lo
        dv.setUint32(addr - 20, v[3]!, true); // xdp ts hi
        if (len >= META_SIZE) {
          dv.setUint16(addr - 32, v[4]! & 0xffff, true);
          dv.setUint16(addr - 30, v[5]! & 0xffff, true);
          dv.setUint32(addr - 36, v[6]!, true);
          dv.setUint32(addr - 40, v[7]!, true);
          dv.setUint32(addr - 48, v[8]!, true);
          dv.setUint32(addr - 44, v[9]!, true);
        }
        assert.equal(r.read(addr), true);
        assert.equal(r.len, len);
        assert.equal(r.version, version);
        assert.equal(r.rxQueue, v[1]);
        assert.equal(r.xdpTsLo, v[2]);
        assert.equal(r.xdpTsHi, v[3]);
        if (len >= META_SIZE) {
          assert.equal(r.flags, v[0]);
          assert.equal(r.vlanProto, v[4]! & 0xffff);
          assert.equal(r.vlanTci, v[5]! & 0xffff);
          assert.equal(r.rxHashType, v[6]);
          assert.equal(r.rxHash, v[7]);
          assert.equal(r.hwTsLo, v[8]);
          assert.equal(r.hwTsHi, v[9]);
        } else {
          assert.equal(r.flags >>> 0, (v[0]! & ~(F_HW_TS | F_RX_HASH | F_VLAN)) >>> 0);
        }
        // the stale guard: clearing the magic word makes the struct invisible
        dv.setUint32(addr - 4, 0, true);
        assert.equal(r.read(addr), false);
      }),
    ),
    params,
  );
  assert.equal(counted['meta-roundtrip'], RUNS);
});

// ---------------------------------------------------------------- verifier-log helpers

const stateLine = fc.oneof(
  fc.tuple(fc.nat(999), fc.string()).map(([n, s]) => `${n}: (bf) ${s.replace(/\n/g, ' ')}`),
  fc.string().map((s) => `R1_w=pkt(id=0,off=-8,r=0,imm=0) ${s.replace(/\n/g, ' ')}`),
  fc.string().map((s) => `; ${s.replace(/\n/g, ' ')}`),
  fc.constantFrom('from 8 to 12: R0=inv', 'last_idx 9 first_idx 0', 'regs=1 stack=0 before 8', "parent didn't have regs=1", 'mark_precise: frame0'),
);
const message = fc
  .string({ minLength: 1 })
  .map((s) => s.replace(/\s+/g, ' ').trim())
  // exclude exactly what verifierMessage() treats as state lines (incl. "0:R0"-style, found by a run)
  .filter((s) => s.length > 0 && !/^\d+: /.test(s) && !/^\d+:\s*R\d/.test(s) && !/^R\d/.test(s) && !s.startsWith(';') && !/^(from|mark_precise|last_idx|regs=|parent didn't)/.test(s) && !/^processed \d+ insns/.test(s));

test(`verifier-log helpers: random text never throws; the complaint of a well-formed log is found (${RUNS} cases)`, () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 2000 }),
      fc.array(stateLine, { maxLength: 20 }),
      message,
      fc.array(stateLine, { maxLength: 5 }),
      fc.boolean(),
      count('verifier', (junk, before, msg, states, wrapped) => {
        // any text at all: one line out, no throw
        const m1 = verifierMessage(junk);
        assert.equal(typeof m1, 'string');
        assert.ok(!m1.includes('\n'));
        assert.equal(typeof extractVerifierLog(junk), 'string');
        // a verifier log: the message line before "processed N insns" (state lines after it skipped)
        const log = [...before, msg, ...states, 'processed 10 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0'].join('\n');
        assert.equal(verifierMessage(log), msg);
        if (wrapped) {
          const libbpf = `libbpf: prog 'p': BPF program load failed: Permission denied\nlibbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n${log}\n-- END PROG LOAD LOG --\nlibbpf: failed to load object\n`;
          assert.equal(verifierMessage(extractVerifierLog(libbpf)), msg);
        }
      }),
    ),
    params,
  );
  assert.equal(counted['verifier'], RUNS);
});

// ---------------------------------------------------------------- frame parser

test(`readPayload: random bytes, offsets and lengths never throw and never read outside [off, off+len) (${RUNS} cases)`, () => {
  const out = new Uint32Array(4);
  const out2 = new Uint32Array(4);
  fc.assert(
    fc.property(
      fc.tuple(fc.integer({ min: 0, max: 1600 }), fc.nat()).map(([len, seed]) => {
        const rnd = prng(seed);
        const b = new Uint8Array(len);
        for (let i = 0; i < len; i++) b[i] = (rnd() * 256) | 0;
        // often make it look like one of ours, so the deeper checks run too
        if (len >= 62 && rnd() < 0.5) {
          b[12] = 8;
          b[13] = 0;
          b[14] = 0x45;
          b[23] = 17;
          b.set([0x41, 0x46, 0x58, 0x47], 42);
        }
        return b;
      }),
      fc.integer({ min: -8, max: 1700 }),
      fc.integer({ min: -8, max: 1700 }),
      fc.nat(65535),
      count('payload-random', (buf, off, len, port) => {
        const ok = readPayload(buf, off, len, out, port);
        if (!ok) return;
        assert.ok(off >= 0 && len > 0 && off + len <= buf.length);
        // the same bytes with different garbage around them give the same answer
        const copy = new Uint8Array(buf.length).fill(0x5a);
        copy.set(buf.subarray(off, off + len), off);
        assert.equal(readPayload(copy, off, len, out2, port), true);
        assert.deepEqual(out2, out);
      }),
    ),
    params,
  );
  assert.equal(counted['payload-random'], RUNS);
});

test(`readPayload: every frame writeUdpFrame builds (any size, VLAN or not) reads back; every truncation is refused (${RUNS} cases)`, () => {
  const out = new Uint32Array(4);
  const buf = new Uint8Array(2048 + 8);
  fc.assert(
    fc.property(
      fc.integer({ min: FRAME_MIN, max: 1514 }),
      fc.nat(8),
      fc.integer({ min: 1, max: 65535 }),
      fc.nat({ max: 0xffffffff }),
      fc.nat({ max: 0xffffffff }),
      fc.nat({ max: 0xffffffff }),
      fc.nat({ max: 0xffffffff }),
      fc.constantFrom(null, 0x8100, 0x88a8),
      fc.nat(1600),
      count('payload-roundtrip', (size, off, port, runId, seq, lo, hi, vlan, cut) => {
        buf.fill(0);
        writeUdpFrame(buf, off, size, { srcMac: new Uint8Array(6), dstMac: new Uint8Array(6).fill(2), srcIp: Uint8Array.of(10, 0, 0, 1), dstIp: Uint8Array.of(10, 0, 0, 2), srcPort: 1, dstPort: port });
        setRunId(buf, off, runId);
        setSeq(buf, off, seq);
        setTxTimestamp(buf, off, lo, hi);
        let len = size;
        if (vlan !== null) {
          // insert a tag after the MACs: type, TCI, then the original EtherType
          buf.copyWithin(off + 16, off + 12, off + size);
          buf[off + 12] = vlan >> 8;
          buf[off + 13] = vlan & 0xff;
          buf[off + 14] = 0;
          buf[off + 15] = 7;
          len += 4;
        }
        assert.equal(readPayload(buf, off, len, out, port), true);
        assert.deepEqual([...out], [runId, seq, lo, hi]);
        assert.equal(readPayload(buf, off, len, out, port === 65535 ? 1 : port + 1), false, 'another port');
        // cut short anywhere inside the headers or the payload: refused
        const l = cut % len;
        assert.equal(readPayload(buf, off, l, out, port), false, `truncated to ${l} of ${len}`);
      }),
    ),
    params,
  );
  assert.equal(counted['payload-roundtrip'], RUNS);
});

// ---------------------------------------------------------------- CLI arguments

test(`argument parsers: any string is either a valid value or an InvalidArgumentError (${RUNS} cases)`, () => {
  const int = intArg('--n', 0, 1000);
  const num = numArg('--d', 0.001, 100);
  const choice = choiceArg('--mode', ['auto', 'native', 'generic'] as const);
  const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.integer().map(String), fc.double().map(String), fc.constantFrom('', ' ', '1e3', '0x10', '08', '-0', '1.', '.5', 'Infinity', 'NaN', '9007199254740993'));
  const outcome = <T>(f: () => T): { ok: true; v: T } | { ok: false } => {
    try {
      return { ok: true, v: f() };
    } catch (e) {
      assert.ok(e instanceof InvalidArgumentError, `only InvalidArgumentError, got ${String(e)}`);
      assert.ok(!(e as Error).message.includes('\n'), 'one line');
      return { ok: false };
    }
  };
  fc.assert(
    fc.property(
      anyString,
      count('args', (s) => {
        const i = outcome(() => int(s));
        if (i.ok) assert.ok(Number.isSafeInteger(i.v) && i.v >= 0 && i.v <= 1000);
        const n = outcome(() => num(s));
        if (n.ok) assert.ok(Number.isFinite(n.v) && n.v >= 0.001 && n.v <= 100);
        const c = outcome(() => choice(s));
        if (c.ok) assert.ok(['auto', 'native', 'generic'].includes(c.v));
        const f = outcome(() => ifnameArg(s));
        if (f.ok) assert.ok(f.v.length >= 1 && f.v.length <= 15 && !/[\s/:]/.test(f.v));
        const r = outcome(() => ringSizeArg(s));
        if (r.ok) assert.ok(r.v >= 8 && r.v <= 8192 && (r.v & (r.v - 1)) === 0);
      }),
    ),
    params,
  );
  assert.equal(counted['args'], RUNS);
});

test(`the whole commander setup: random argv either parses into validated options or fails as a one-line usage error (${RUNS} cases)`, async () => {
  const flags = ['--packets', '--rate', '--mode', '--clock', '--ring-size', '--json', '--debug-frames', '--iface', '--queue', '--duration', '--bind', '--port', '--all', '--verbose', '--debug', '--nope', '-x', '--'];
  const value = fc.oneof(fc.string({ maxLength: 12 }), fc.nat(100000).map(String), fc.constantFrom('auto', 'native', 'generic', 'copy', 'zerocopy', 'monotonic', 'tai', '64', '100', 'lo', 'eth0', '-1', '0', '1e9'));
  const argv = fc.tuple(fc.constantFrom('demo', 'latency', 'check', 'bogus'), fc.array(fc.oneof(fc.constantFrom(...flags), value), { maxLength: 8 })).map(([cmd, rest]) => [cmd, ...rest]);
  await fc.assert(
    fc.asyncProperty(
      argv,
      async (args) => {
        counted['commander'] = (counted['commander'] ?? 0) + 1;
        const program = createProgram(() => ({ debug: false, signal: new AbortController().signal }));
        let opts: Record<string, unknown> | null = null;
        for (const c of program.commands) c.action((...a: unknown[]) => {
          // commander passes (args..., options, command): the options object is second to last
          opts = a[a.length - 2] as Record<string, unknown>;
        });
        try {
          await program.parseAsync(args, { from: 'user' });
        } catch (e) {
          assert.ok(e instanceof CommanderError, `only CommanderError escapes parsing, got ${String(e)}`);
          if (e.exitCode !== 0) assert.ok(!usageErrorLine(e.message, args[0]).includes('\n'), `one line: ${e.message}`);
          return;
        }
        if (opts === null) return; // help or version
        const o = opts as Record<string, unknown>;
        if (o.ringSize !== undefined) assert.ok([8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192].includes(o.ringSize as number));
        if (o.packets !== undefined) assert.ok(Number.isSafeInteger(o.packets) && (o.packets as number) >= 1);
        if (o.rate !== undefined) assert.ok(Number.isSafeInteger(o.rate) && (o.rate as number) >= 0);
        if (o.mode !== undefined) assert.ok(['auto', 'native', 'generic'].includes(o.mode as string));
        if (o.queue !== undefined) assert.ok(Number.isSafeInteger(o.queue) && (o.queue as number) >= 0 && (o.queue as number) <= 4095);
        if (o.port !== undefined) assert.ok(Number.isSafeInteger(o.port) && (o.port as number) <= 65535);
        if (o.iface !== undefined) assert.ok(typeof o.iface === 'string' && o.iface.length >= 1 && o.iface.length <= 15);
      },
    ),
    params,
  );
  assert.equal(counted['commander'], RUNS);
});

// ---------------------------------------------------------------- the XDP program itself

test(`stamp.bpf.c under BPF_PROG_TEST_RUN: random frames are each counted once, matched exactly per the filter spec, never crash it (${RUNS} cases)`, () => {
  const XDP_PASS = 2;
  const open = (port: number): { obj: BpfObject; prog: number; counters: CounterReader } => {
    const obj = BpfObject.open(bundledObject('stamp'));
    obj.load({ rodata: { cfg_match: 0, cfg_udp_port: port } });
    return { obj, prog: obj.programFd('afxdp_stamp_prog'), counters: new CounterReader(obj.mapFd('afxdp_counters')) };
  };
  const anyPort = open(0);
  const port9 = open(9);
  const n = native();
  // frames biased toward the parser's branches: EtherType, tags, IP version/ihl/protocol, UDP port
  const frame = fc
    .record({
      // fast-check keeps arrays short by default: draw the length uniformly instead
      bytes: fc.integer({ min: 14, max: 1514 }).chain((len) => fc.uint8Array({ minLength: len, maxLength: len })),
      type: fc.constantFrom(0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x1234),
      inner: fc.constantFrom(0x0800, 0x86dd, 0x8100, 0x0806),
      vihl: fc.constantFrom(0x45, 0x46, 0x4f, 0x44, 0x40, 0x60, 0x00),
      proto: fc.constantFrom(17, 17, 6, 1, 0),
      dport: fc.constantFrom(9, 9, 53, 0, 65535),
      patch: fc.boolean(),
    })
    .map(({ bytes, type, inner, vihl, proto, dport, patch }) => {
      const f = bytes;
      if (!patch) return f;
      const put16 = (o: number, v: number): void => {
        if (o + 1 < f.length) {
          f[o] = v >> 8;
          f[o + 1] = v & 0xff;
        }
      };
      put16(12, type);
      let l3 = 14;
      if (type === 0x8100 || type === 0x88a8) {
        put16(16, inner);
        l3 = 18;
      }
      const t = l3 === 18 ? inner : type;
      if (t === 0x0800 && l3 + 20 <= f.length) {
        f[l3] = vihl;
        f[l3 + 9] = proto;
        put16(l3 + (vihl & 0x0f) * 4 + 2, dport);
      } else if (t === 0x86dd && l3 + 40 <= f.length) {
        f[l3 + 6] = proto;
        put16(l3 + 40 + 2, dport);
      }
      return f;
    });
  const before = { a: anyPort.counters.read(0), b: port9.counters.read(0) };
  const matchedCases = { a: 0, b: 0 };
  try {
    fc.assert(
      fc.property(
        frame,
        count('bpf', (f) => {
          for (const [cfg, port, key] of [[anyPort, 0, 'a'], [port9, 9, 'b']] as const) {
            // read before every run: a failed case must not skew the next one (shrinking reruns)
            before[key] = cfg.counters.read(0);
            const r = n.bpfProgTestRun(cfg.prog, f, 1);
            assert.equal(r.retval, XDP_PASS, 'no socket is registered: every frame passes to the stack');
            const now = cfg.counters.read(0);
            const was = before[key];
            assert.equal(now.seen - was.seen, 1, 'seen once');
            const want = udpMatch(f, port) ? 1 : 0;
            matchedCases[key] += want;
            assert.equal(now.matched - was.matched, want, `matched per the filter spec (port ${port})`);
            assert.equal(now.stamped + now.unstamped - was.stamped - was.unstamped, want, 'every matched frame stamped or counted as unstamped');
            assert.equal(now.redirected - was.redirected, 0);
          }
        }),
      ),
      params,
    );
  } finally {
    anyPort.obj.close();
    port9.obj.close();
  }
  assert.equal(counted['bpf'], RUNS);
  // the generator must really exercise the match path, or the property proves little
  assert.ok(matchedCases.a > RUNS / 50 && matchedCases.b > RUNS / 100, `frames that match: ${JSON.stringify(matchedCases)}`);
});

// ---------------------------------------------------------------- the verifier-log explainer (src/explain)

const SEED_LOG = readFileSync(path.join(ROOT, 'test', 'fixtures', 'verifier', 'seed-question.log'), 'utf8');
const CLASS_IDS = new Set([...CLASSES.map((c) => c.id), 'unknown', 'none']);

function assertWellFormed(e: Explanation): void {
  assert.equal(e.schema, EXPLAIN_SCHEMA);
  assert.equal(typeof e.found, 'boolean');
  assert.ok(CLASS_IDS.has(e.class), `class ${e.class}`);
  assert.ok(e.error.insn === null || (Number.isInteger(e.error.insn) && e.error.insn >= 0));
  const line = oneLineExplanation(e);
  assert.equal(typeof line, 'string');
  assert.ok(!line.includes('\n'), `one line: ${JSON.stringify(line)}`);
  assert.equal(typeof renderExplanation(e), 'string');
  JSON.parse(JSON.stringify(e)); // plain data, serialisable
}

test(`explainLog: random text, and the seed's log cut, shuffled and corrupted at random, never throw and always give a well-formed explanation (${RUNS} cases)`, () => {
  assert.equal(explainLog(SEED_LOG).class, 'ctx-write', 'the unmutated seed log is classified');
  const lines = SEED_LOG.split('\n');
  const mutated = fc
    .record({
      keep: fc.array(fc.boolean(), { minLength: lines.length, maxLength: lines.length }),
      cut: fc.nat(SEED_LOG.length),
      junk: fc.string({ maxLength: 40 }),
      at: fc.nat(lines.length),
      crlf: fc.boolean(),
    })
    .map(({ keep, cut, junk, at, crlf }) => {
      const kept = lines.filter((_, i) => keep[i]);
      kept.splice(at % (kept.length + 1), 0, junk);
      const text = kept.join(crlf ? '\r\n' : '\n');
      return text.slice(0, Math.max(cut, text.length >>> 1));
    });
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 500 }), fc.string({ unit: 'binary', maxLength: 300 }), mutated),
      fc.constantFrom(...PROG_TYPES),
      count('explain', (text, progType) => assertWellFormed(explainLog(text, { progType }))),
    ),
    params,
  );
  assert.equal(counted['explain'], RUNS);
});

test(`decodeCtxAccess: any program type, offset, size and direction give a name and a reason, never a throw (${RUNS} cases)`, () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...PROG_TYPES),
      fc.integer({ min: -64, max: 4096 }),
      fc.constantFrom(1, 2, 4, 8, 3, 0),
      fc.boolean(),
      count('ctx', (t, off, size, write) => {
        const a = decodeCtxAccess(t, off, size, write);
        assert.ok(typeof a.name === 'string' && a.name.length > 0);
        assert.ok(typeof a.reason === 'string' && a.reason.length > 0 && !a.reason.includes('\n'));
        if (a.field) assert.ok(off >= a.field.offset && off < a.field.offset + a.field.size);
      }),
    ),
    params,
  );
  assert.equal(counted['ctx'], RUNS);
});

// ---------------------------------------------------------------- pcapng writer round trip

/** A minimal pcapng reader for the round trip: SHB, IDB, then EPBs (frame bytes, lengths, comment). */
function readPcapng(buf: Buffer): { tsresol: number; packets: Array<{ hi: number; lo: number; cap: number; len: number; data: Buffer; comment: string }> } {
  let off = 0;
  let tsresol = -1;
  const packets: Array<{ hi: number; lo: number; cap: number; len: number; data: Buffer; comment: string }> = [];
  while (off < buf.length) {
    const type = buf.readUInt32LE(off);
    const total = buf.readUInt32LE(off + 4);
    assert.ok(total >= 12 && total % 4 === 0 && off + total <= buf.length, `block length ${total} at ${off}`);
    assert.equal(buf.readUInt32LE(off + total - 4), total, 'trailing block length');
    const opts = (start: number): Map<number, Buffer> => {
      const m = new Map<number, Buffer>();
      let o = start;
      while (o < off + total - 4) {
        const code = buf.readUInt16LE(o);
        const len = buf.readUInt16LE(o + 2);
        if (code === 0) break;
        m.set(code, buf.subarray(o + 4, o + 4 + len));
        o += 4 + ((len + 3) & ~3);
      }
      return m;
    };
    if (type === 0x0a0d0d0a) assert.equal(buf.readUInt32LE(off + 8), 0x1a2b3c4d);
    else if (type === 1) tsresol = opts(off + 16).get(9)?.[0] ?? -1;
    else if (type === 6) {
      const cap = buf.readUInt32LE(off + 20);
      const len = buf.readUInt32LE(off + 24);
      const data = buf.subarray(off + 28, off + 28 + cap);
      const comment = opts(off + 28 + ((cap + 3) & ~3)).get(1)?.toString('latin1') ?? '';
      packets.push({ hi: buf.readUInt32LE(off + 12), lo: buf.readUInt32LE(off + 16), cap, len, data, comment });
    }
    off += total;
  }
  return { tsresol, packets };
}

test(`pcapng writer: random batches (frames, lengths, stamps, latencies, missing values) read back exactly (${RUNS} cases)`, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'afxdp-pcap-'));
  const file = path.join(dir, 'fuzz.pcapng');
  const umem = new Uint8Array(64 * 2048);
  const addr = new Uint32Array(16);
  const len = new Uint32Array(16);
  const b = new PacketBatch(0, umem, addr.length, undefined, { addr, len });
  const nan = (x: number | null): number => (x === null ? NaN : x);
  // one writer for all cases (its 4 MiB buffer per case would dominate): after each batch the
  // buffer is flushed and only the new blocks are read back
  const w = new PcapngWriter(file, { clock: 'monotonic', ifname: 'fuzz0', application: 'afxdp fuzz' });
  const flush = (): void => (w as unknown as { out: { flush(): void } }).out.flush();
  flush();
  const head = readPcapng(readFileSync(file));
  assert.equal(head.tsresol, 9, 'nanosecond resolution');
  assert.equal(head.packets.length, 0);
  let readPos = readFileSync(file).length;
  const fd = openSync(file, 'r');
  try {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            slot: fc.nat(63),
            off: fc.nat(256),
            len: fc.integer({ min: 14, max: 1514 }),
            seq: fc.oneof(fc.constant(-1), fc.nat({ max: 0xffffffff })),
            stamped: fc.boolean(),
            xdpLo: fc.nat({ max: 0xffffffff }),
            xdpHi: fc.nat({ max: 0x3fffffff }),
            xu: fc.integer({ min: 0, max: 2 ** 40 }),
            sx: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 40 })),
            hx: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 })),
            fill: fc.nat(255),
          }),
          { minLength: 1, maxLength: 16 },
        ),
        count('pcapng', (pkts) => {
          b.n = pkts.length;
          b.userLo = 123;
          b.userHi = 0;
          pkts.forEach((p, i) => {
            addr[i] = p.slot * 2048 + p.off;
            len[i] = Math.min(p.len, 2048 - p.off);
            umem.fill(p.fill, addr[i]!, addr[i]! + len[i]!);
            umem[addr[i]!] = i; // tell frames apart
            b.seq[i] = p.seq;
            b.flags[i] = p.stamped ? 1 : 0;
            b.xdpLo[i] = p.stamped ? p.xdpLo : 0;
            b.xdpHi[i] = p.stamped ? p.xdpHi : 0;
            b.xdpToUser[i] = p.stamped ? p.xu : NaN;
            b.senderToXdp[i] = p.stamped ? nan(p.sx) : NaN;
            b.hwToXdp[i] = p.stamped ? nan(p.hx) : NaN;
          });
          w.onBatch(b);
          flush();
          const size = fstatSync(fd).size;
          const fresh = Buffer.alloc(size - readPos);
          readSync(fd, fresh, 0, fresh.length, readPos);
          readPos = size;
          const r = readPcapng(fresh);
          assert.equal(r.packets.length, pkts.length);
          pkts.forEach((p, i) => {
            const got = r.packets[i]!;
            assert.equal(got.len, len[i]);
            assert.equal(got.cap, len[i]);
            assert.ok(got.data.equals(Buffer.from(umem.subarray(addr[i]!, addr[i]! + len[i]!))), 'frame bytes');
            const want: string[] = [];
            if (p.seq >= 0) want.push(`seq=${p.seq}`);
            if (p.stamped) {
              want.push(`xdp_to_user_ns=${p.xu}`);
              if (p.sx !== null) want.push(`sender_to_xdp_ns=${p.sx}`);
              if (p.hx !== null) want.push(`hw_to_xdp_ns=${p.hx}`);
            } else want.push('no_xdp_stamp');
            assert.equal(got.comment, want.join(' '));
          });
          // timestamps keep the order and the differences of the stamps (one realtime offset for all)
          const ts = (i: number): bigint => (BigInt(r.packets[i]!.hi) << 32n) | BigInt(r.packets[i]!.lo);
          const stampedIdx = pkts.map((p, i) => (p.stamped ? i : -1)).filter((i) => i >= 0);
          for (let k = 1; k < stampedIdx.length; k++) {
            const i = stampedIdx[k - 1]!;
            const j = stampedIdx[k]!;
            const si = (BigInt(pkts[i]!.xdpHi) << 32n) | BigInt(pkts[i]!.xdpLo);
            const sj = (BigInt(pkts[j]!.xdpHi) << 32n) | BigInt(pkts[j]!.xdpLo);
            assert.equal(ts(j) - ts(i), sj - si, 'stamp differences preserved');
          }
        }),
      ),
      params,
    );
  } finally {
    closeSync(fd);
    w.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(counted['pcapng'], RUNS);
});
