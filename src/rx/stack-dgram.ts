/**
 * The Node `dgram` receiver of the kernel-stack comparison, as its own process (started by
 * rx/stack.ts): what a Node service has today, on an event loop of its own, so it neither slows
 * nor is slowed by the AF_XDP receiver's loop, and its CPU time (process.cpuUsage) is its alone.
 *
 *   node stack-dgram.js --port P [--netns /proc/PID/ns/net] [--rcvbuf BYTES] --out FD
 *
 * The same protocol as bench/c/stack_rx.c: "ready" on stderr once bound, "error: ..." and exit 3
 * when it cannot; one 32-byte record per datagram written to the fd --out (see stack.ts); on
 * SIGTERM, one JSON line on stderr. Per datagram the time is read when the 'message' callback
 * runs: that is when Node code has it. dgram gives no control messages, so no kernel RX time.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import { native } from '../native.js';
import { STACK_MAGIC, PAYLOAD_MAGIC, STACK_TS_OFFSET, PAYLOAD_FIELD } from '../wire/frame.js';
import { REC_SIZE, REC_STAMPED, REC_UNSTAMPED } from './stack-record.js';

const CLONE_NEWNET = 0x40000000;
const REC_BUF = 4096;

function fail(what: string): never {
  process.stderr.write(`error: ${what}\n`);
  process.exit(3);
}

const args = new Map<string, string>();
for (let i = 2; i + 1 < process.argv.length; i += 2) args.set(process.argv[i]!, process.argv[i + 1]!);
const port = Number(args.get('--port'));
const out = Number(args.get('--out'));
const rcvbuf = Number(args.get('--rcvbuf') ?? 0);
const netns = args.get('--netns');
if (!Number.isInteger(port) || port < 1 || port > 65535 || !Number.isInteger(out)) fail('usage: stack-dgram --port P [--netns PATH] [--rcvbuf BYTES] --out FD');

if (netns !== undefined) {
  try {
    const fd = fs.openSync(netns, 'r');
    native().setns(fd, CLONE_NEWNET); // the main thread, where dgram's socket is made
    fs.closeSync(fd);
  } catch (e) {
    fail(`${netns}: ${(e as Error).message}`);
  }
}

const recs = Buffer.alloc(REC_BUF * REC_SIZE);
const view = new DataView(recs.buffer, recs.byteOffset, recs.byteLength);
let n = 0;
let received = 0;
let stamped = 0;
let unstamped = 0;
let foreign = 0;

function flush(): void {
  let off = 0;
  const len = n * REC_SIZE;
  while (off < len) off += fs.writeSync(out, recs, off, len - off);
  n = 0;
}

const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: rcvbuf > 0 ? rcvbuf : undefined });
sock.on('error', (e: NodeJS.ErrnoException) => fail(`bind to UDP port ${port}: ${e.code ?? e.message}`));
sock.on('message', (msg: Buffer) => {
  const user = process.hrtime.bigint();
  received++;
  if (msg.length < STACK_TS_OFFSET + 8) {
    foreign++;
    return;
  }
  const magic = msg.readUInt32BE(0);
  let flags: number;
  if (magic === STACK_MAGIC) {
    flags = REC_STAMPED;
    stamped++;
  } else if (magic === PAYLOAD_MAGIC) {
    flags = REC_UNSTAMPED;
    unstamped++;
  } else {
    foreign++;
    return;
  }
  const r = n * REC_SIZE;
  view.setUint32(r, msg.readUInt32LE(PAYLOAD_FIELD.seq), true);
  view.setUint32(r + 4, flags, true);
  view.setBigUint64(r + 8, flags === REC_STAMPED ? msg.readBigUInt64LE(STACK_TS_OFFSET) : 0n, true);
  view.setBigUint64(r + 16, 0n, true);
  view.setBigUint64(r + 24, user, true);
  if (++n === REC_BUF) flush();
});

let cpu0: NodeJS.CpuUsage;
sock.bind({ port, address: '0.0.0.0', exclusive: true }, () => {
  cpu0 = process.cpuUsage();
  process.stderr.write('ready\n');
});

process.on('SIGTERM', () => {
  // the caller stops us once the kernel counts every datagram as read (or dropped): nothing is queued
  const cpu = process.cpuUsage(cpu0);
  sock.close();
  flush();
  process.stderr.write(JSON.stringify({ received, stamped, unstamped, foreign, kernel_ts: 0, cpu_ns: (cpu.user + cpu.system) * 1000 }) + '\n');
  process.exit(0);
});
