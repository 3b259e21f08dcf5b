/**
 * `npm run bench:strategies`: what each stamping strategy costs (docs/METADATA.md).
 *
 *  1. In the XDP program: BPF_PROG_TEST_RUN in live-frames mode (fresh packet copy per run),
 *     ≥ 1 M runs per round, median of the rounds, against a plain XSKMAP redirect program.
 *  2. In user space: ns per packet to find (and for prepend strip) the stamp, on synthetic
 *     frames; for the map, the lookup-and-delete syscall per key on a real map.
 *  3. Memory: per packet (bytes moved/copied) and per map (the kernel's own memlock figure).
 *  4. End to end (unless --no-e2e): `afxdp demo` per strategy at full rate, CPU time of the
 *     whole process (sender + XDP in the sender's context + receiver) per packet, and latency.
 *
 *  5. By frame size (--sizes 64,1500,9000): the end-to-end run per strategy at each size; frames
 *     above 1514 bytes run on a 9000-MTU lab as multi-buffer packets (xdp.frags, XDP_USE_SG).
 *
 * Options: --repeat N (default 1000000), --rounds N (default 5), --e2e-packets N (default
 * 100000), --no-e2e, --sizes A,B,… (default 64: the e2e table only at 64 bytes), --json. CPU
 * timings on shared vCPUs are noisy: read the ratios.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { native, PACKAGE_ROOT } from '../src/native.js';
import { BpfObject } from '../src/xdp/program.js';
import { STRATEGY_CODES, META_SIZE, frameKey, MAP_KEY_SIZE, type StrategyName } from '../src/xdp/meta.js';
import { writeUdpFrame, DEFAULT_FRAME_SIZE } from '../src/wire/frame.js';
import { StampDecoder } from '../src/rx/stamps.js';
import { PacketBatch } from '../src/rx/batch.js';
import { newCounts } from '../src/rx/counts.js';
import { LatencyRecorder } from '../src/measure/recorder.js';
import { runDemo } from '../src/run/demo.js';

const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
const XDP_DROP = 1;
const COST_OBJ = path.join(PACKAGE_ROOT, 'build', 'bench-bpf', 'cost.bpf.o');
const STAMP_OBJ = path.join(PACKAGE_ROOT, 'build', 'bpf', 'stamp.bpf.o');

interface Args {
  repeat: number;
  rounds: number;
  e2ePackets: number;
  e2e: boolean;
  json: boolean;
  /** frame sizes of the end-to-end runs */
  sizes: number[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { repeat: 1_000_000, rounds: 5, e2ePackets: 100_000, e2e: true, json: false, sizes: [DEFAULT_FRAME_SIZE] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${k} needs a whole number ≥ 1`);
      return v;
    };
    if (k === '--repeat') a.repeat = num();
    else if (k === '--rounds') a.rounds = num();
    else if (k === '--e2e-packets') a.e2ePackets = num();
    else if (k === '--no-e2e') a.e2e = false;
    else if (k === '--json') a.json = true;
    else if (k === '--sizes') {
      a.sizes = String(argv[++i] ?? '').split(',').map(Number);
      if (!a.sizes.every((v) => Number.isInteger(v) && v >= 62 && v <= 9000)) throw new Error('--sizes needs frame sizes 62..9000, e.g. 64,1500,9000');
    }
    else throw new Error(`unknown option ${k} (see the comment at the top of bench/strategies.ts)`);
  }
  return a;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function testFrame(): Uint8Array {
  const b = new Uint8Array(DEFAULT_FRAME_SIZE);
  writeUdpFrame(b, 0, DEFAULT_FRAME_SIZE, {
    srcMac: Uint8Array.of(2, 0, 0, 0, 0, 1),
    dstMac: Uint8Array.of(2, 0, 0, 0, 0, 2),
    srcIp: Uint8Array.of(198, 18, 0, 1),
    dstIp: Uint8Array.of(198, 18, 0, 2),
    srcPort: 40000,
    dstPort: 9,
  });
  return b;
}

interface XdpCase {
  name: string;
  program: string;
  strategy?: StrategyName;
  simulateNoMeta?: boolean;
  note: string;
}

const XDP_CASES: XdpCase[] = [
  { name: 'plain redirect', program: 'plain_redirect', note: 'baseline: bpf_redirect_map only' },
  { name: 'clock only', program: 'clock_only', note: 'bpf_ktime_get_ns() + redirect' },
  { name: 'meta', program: 'stamp', strategy: 'meta', note: 'adjust_meta + 48-byte struct' },
  { name: 'prepend', program: 'stamp', strategy: 'prepend', note: 'adjust_head + 48-byte struct' },
  { name: 'map (fresh key)', program: 'map_fresh', note: 'key hash + LRU insert (+ delete, as user space would)' },
  { name: 'map (key waiting)', program: 'stamp', strategy: 'map', note: 'key hash + insert refused (BPF_NOEXIST): a collision' },
  { name: 'auto', program: 'stamp', strategy: 'auto', note: 'meta succeeds' },
  { name: 'auto, no meta', program: 'stamp', strategy: 'auto', simulateNoMeta: true, note: 'falls back to prepend (--simulate-no-meta)' },
];

export interface XdpResult {
  name: string;
  note: string;
  ns: number;
  over_plain_ns: number;
  rounds_ns: number[];
}

function measureXdp(a: Args): XdpResult[] {
  const frame = testFrame();
  const out: XdpResult[] = [];
  for (const c of XDP_CASES) {
    const obj = BpfObject.open(COST_OBJ);
    try {
      const rodata: Record<string, number> = {};
      if (c.strategy) rodata.afxdp_cfg_strategy = STRATEGY_CODES[c.strategy];
      if (c.simulateNoMeta) rodata.afxdp_cfg_simulate_no_meta = 1;
      obj.load({ program: c.program, rodata });
      const fd = obj.programFd(c.program);
      native().bpfProgTestRun(fd, frame, 10_000, BPF_F_TEST_XDP_LIVE_FRAMES, 64); // rehearsal: the program's first runs are not measured
      const rounds: number[] = [];
      for (let r = 0; r < a.rounds; r++) {
        const res = native().bpfProgTestRun(fd, frame, a.repeat, BPF_F_TEST_XDP_LIVE_FRAMES, 64);
        if (res.retval !== 0 && res.retval !== XDP_DROP) throw new Error(`${c.name}: retval ${res.retval}`);
        rounds.push(res.durationNs);
      }
      out.push({ name: c.name, note: c.note, ns: median(rounds), over_plain_ns: 0, rounds_ns: rounds });
    } finally {
      obj.close();
    }
  }
  const plain = out[0]!.ns;
  for (const r of out) r.over_plain_ns = r.ns - plain;
  return out;
}

export interface UserResult {
  name: string;
  ns_per_packet: number;
  note: string;
}

/** Synthetic UMEM: frames with a stamp in front (meta) or at the start (prepend), decoded in batches. */
function measureUser(a: Args): UserResult[] {
  const FRAMES = 64;
  const frameSize = 4096;
  const bytes = new Uint8Array(FRAMES * frameSize);
  const umem = { bytes, words: new Uint32Array(bytes.buffer), frameShift: 12 };
  const frame = testFrame();
  const cookie = 0x1234567;
  const writeStruct = (end: number, flags: number): void => {
    const w = umem.words;
    const at = end >>> 2;
    w[at - 1] = 0xafd8a001;
    w[at - 2] = META_SIZE;
    w[at - 3] = flags | 1 | (1 << 5);
    w[at - 4] = 0;
    w[at - 5] = 0;
    w[at - 6] = 1000;
    w[at - 7] = cookie;
  };
  const addrs = new Uint32Array(FRAMES);
  const lens = new Uint32Array(FRAMES);
  const results: UserResult[] = [];
  const iterations = Math.max(1, Math.floor(a.repeat / FRAMES));
  for (const strategy of ['meta', 'prepend'] as const) {
    const setup = (): void => {
      for (let i = 0; i < FRAMES; i++) {
        const base = i * frameSize + 256;
        if (strategy === 'meta') {
          bytes.set(frame, base);
          writeStruct(base, 0);
          addrs[i] = base;
          lens[i] = frame.length;
        } else {
          bytes.set(frame, base + META_SIZE);
          writeStruct(base + META_SIZE, 1 << 8);
          addrs[i] = base;
          lens[i] = frame.length + META_SIZE;
        }
      }
    };
    const dec = new StampDecoder(umem, { strategy, clockFlag: 0, cookie, mapFd: -1, batchSize: FRAMES }, newCounts(false));
    const cols = new PacketBatch(0, umem.bytes, FRAMES, undefined, { addr: addrs, len: lens });
    const rec = new LatencyRecorder();
    // what the engine's loop does with the decoded columns: one latency per valid stamp
    const decodeAndRecord = (): number => {
      const valid = dec.decode(cols, FRAMES);
      for (let i = 0; i < FRAMES; i++) if (cols.flags[i] !== 0) rec.record((0 - cols.xdpHi[i]!) * 4294967296 + (5000 - cols.xdpLo[i]!));
      return valid;
    };
    const rounds: number[] = [];
    // round 0 is a rehearsal (the JIT compiles the loop) and is not counted
    for (let r = 0; r <= a.rounds; r++) {
      let ns = 0;
      for (let it = 0; it < iterations; it++) {
        setup(); // undoes the strip; not timed
        const t0 = process.hrtime.bigint();
        const valid = decodeAndRecord();
        ns += Number(process.hrtime.bigint() - t0);
        if (valid !== FRAMES) throw new Error(`${strategy}: ${valid} of ${FRAMES} valid`);
      }
      if (r > 0) rounds.push(ns / (iterations * FRAMES));
    }
    results.push({ name: strategy, ns_per_packet: median(rounds), note: strategy === 'meta' ? 'validate + record' : 'validate + strip + record' });
  }

  // map: a real afxdp_stamps map, filled from user space, emptied by bpfMapTakeBatch
  const obj = BpfObject.open(STAMP_OBJ);
  try {
    obj.load({ rodata: { afxdp_cfg_strategy: STRATEGY_CODES.map } });
    const fd = obj.mapFd('afxdp_stamps');
    const keys = new Uint32Array(FRAMES * (MAP_KEY_SIZE / 4));
    const values = new Uint8Array(FRAMES * META_SIZE);
    const found = new Uint8Array(FRAMES);
    const value = new Uint8Array(META_SIZE);
    const mapIterations = Math.max(1, Math.min(iterations, 2000));
    const rounds: number[] = [];
    for (let r = 0; r < a.rounds; r++) {
      let ns = 0;
      for (let it = 0; it < mapIterations; it++) {
        for (let i = 0; i < FRAMES; i++) {
          keys[i * 2] = (it * FRAMES + i) >>> 0;
          keys[i * 2 + 1] = 64;
          native().bpfMapUpdate(fd, new Uint8Array(keys.buffer, i * 8, 8), value, 0);
        }
        const t0 = process.hrtime.bigint();
        const hits = native().bpfMapTakeBatch(fd, new Uint8Array(keys.buffer), values, FRAMES, found);
        ns += Number(process.hrtime.bigint() - t0);
        if (hits !== FRAMES) throw new Error(`map: ${hits} of ${FRAMES} found`);
      }
      rounds.push(ns / (mapIterations * FRAMES));
    }
    // the key itself, in JS
    const kr: number[] = [];
    const out = new Uint32Array(2);
    for (let r = 0; r <= a.rounds; r++) {
      const t0 = process.hrtime.bigint();
      for (let it = 0; it < iterations; it++) for (let i = 0; i < FRAMES; i++) frameKey(umem, i * frameSize + 256, 64, out, 0);
      if (r > 0) kr.push(Number(process.hrtime.bigint() - t0) / (iterations * FRAMES));
    }
    results.push({ name: 'map: key', ns_per_packet: median(kr), note: 'frameKey(): murmur3 blocks over 64 bytes + fmix32' });
    results.push({ name: 'map: take', ns_per_packet: median(rounds), note: 'BPF_MAP_LOOKUP_AND_DELETE_ELEM per key, 64 keys per addon call' });
  } finally {
    obj.close();
  }
  return results;
}

export interface MemoryResult {
  what: string;
  bytes: number;
  note: string;
}

function fdinfoMemlock(fd: number): number {
  const m = /^memlock:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function measureMemory(): MemoryResult[] {
  const obj = BpfObject.open(STAMP_OBJ);
  try {
    obj.load({ rodata: { afxdp_cfg_strategy: STRATEGY_CODES.map } });
    const map = obj.maps.find((m) => m.name === 'afxdp_stamps')!;
    const stamps = fdinfoMemlock(obj.mapFd('afxdp_stamps'));
    return [
      { what: 'meta: per packet', bytes: META_SIZE, note: 'headroom in front of the packet; copy mode copies it with the packet' },
      { what: 'prepend: per packet', bytes: META_SIZE, note: 'headroom; the packet grows by this much (copied, then stripped)' },
      { what: 'map: afxdp_stamps', bytes: stamps, note: `LRU hash, ${map.maxEntries} entries × (key ${map.keySize} + value ${map.valueSize} B), kernel memlock figure` },
      { what: 'map: per entry', bytes: Math.round(stamps / map.maxEntries), note: 'whole map / max_entries (allocated up front: LRU maps preallocate)' },
      { what: 'counters', bytes: fdinfoMemlock(obj.mapFd('afxdp_counters')), note: 'afxdp_counters, per-CPU array of 64 queues (all strategies)' },
    ];
  } finally {
    obj.close();
  }
}

export interface E2eResult {
  strategy: string;
  /** frame size in bytes (without FCS) */
  size: number;
  /** packets that arrived in more than one buffer (multi-buffer) */
  multi_buffer: number;
  packets: number;
  valid: number;
  cpu_ns_per_packet: number;
  p50_ns: number;
  p99_ns: number;
}

async function measureE2e(a: Args): Promise<E2eResult[]> {
  const out: E2eResult[] = [];
  const cases: Array<[string, StrategyName, boolean]> = [
    ['meta', 'meta', false],
    ['prepend', 'prepend', false],
    ['map', 'map', false],
    ['auto, no meta', 'auto', true],
  ];
  for (const size of a.sizes) {
    for (const [name, strategy, simulateNoMeta] of cases) {
      const cpu: number[] = [];
      const p50: number[] = [];
      const p99: number[] = [];
      let valid = 0;
      let multi = 0;
      for (let r = 0; r < Math.min(a.rounds, 3); r++) {
        const c0 = process.cpuUsage();
        const rep = await runDemo({ packets: a.e2ePackets, rate: 0, strategy, simulateNoMeta, mode: 'native', size });
        const c = process.cpuUsage(c0);
        cpu.push(((c.user + c.system) * 1000) / a.e2ePackets);
        p50.push(rep.latency_ns.xdp_to_user.p50);
        p99.push(rep.latency_ns.xdp_to_user.p99);
        valid = rep.packets.meta_valid;
        multi = rep.multi_buffer?.packets ?? 0;
      }
      out.push({ strategy: name, size, multi_buffer: multi, packets: a.e2ePackets, valid, cpu_ns_per_packet: Math.round(median(cpu)), p50_ns: median(p50), p99_ns: median(p99) });
    }
  }
  return out;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const xdp = measureXdp(a);
  const user = measureUser(a);
  const memory = measureMemory();
  const e2e = a.e2e ? await measureE2e(a) : [];
  const result = { repeat: a.repeat, rounds: a.rounds, kernel: (await import('node:os')).release(), xdp, user, memory, e2e };
  if (a.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const f = (n: number): string => n.toFixed(1);
  console.log(`BPF_PROG_TEST_RUN, live frames, ${a.repeat} runs × ${a.rounds} rounds (median), 64-byte UDP frame, kernel ${result.kernel}`);
  console.log('| program | ns/packet | over plain redirect | what it does |');
  console.log('|---|---:|---:|---|');
  for (const r of xdp) console.log(`| ${r.name} | ${f(r.ns)} | ${r === xdp[0] ? '—' : `+${f(r.over_plain_ns)}`} | ${r.note} |`);
  console.log('\nUser space (Node ' + process.version + ')');
  console.log('| step | ns/packet | what |');
  console.log('|---|---:|---|');
  for (const r of user) console.log(`| ${r.name} | ${f(r.ns_per_packet)} | ${r.note} |`);
  console.log('\nMemory');
  console.log('| what | bytes | note |');
  console.log('|---|---:|---|');
  for (const r of memory) console.log(`| ${r.what} | ${r.bytes} | ${r.note} |`);
  if (e2e.length) {
    console.log(`\nEnd to end: afxdp demo, ${a.e2ePackets} packets at full rate, native XDP, median of ${Math.min(a.rounds, 3)} runs`);
    console.log('| size | strategy | valid | multi-buffer | CPU ns/packet (whole process) | xdp→user p50 | p99 |');
    console.log('|---:|---|---:|---:|---:|---:|---:|');
    for (const r of e2e) console.log(`| ${r.size} | ${r.strategy} | ${r.valid} | ${r.multi_buffer} | ${r.cpu_ns_per_packet} | ${(r.p50_ns / 1000).toFixed(1)} µs | ${(r.p99_ns / 1000).toFixed(1)} µs |`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:strategies: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
