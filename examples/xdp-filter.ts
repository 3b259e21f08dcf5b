// SPDX-License-Identifier: MIT
/**
 * Your own XDP program with the afxdp header: xdp-filter.bpf.c delivers UDP to allowed ports
 * (stamped) to this socket and drops other UDP in the kernel. Usage:
 *   xdp-filter IFACE PORT[,PORT...] [PACKETS] [OBJECT.o]
 * Prints the delivered packets' latency and the program's own drop counter.
 */
import { fileURLToPath } from 'node:url';
import { loadProgram, open } from 'afxdp';

const [iface = 'eth0', ports = '9', limit = '100', objArg] = process.argv.slice(2);
// in a checkout / installed package, `make` builds examples/*.bpf.c into build/examples/
const object = objArg ?? fileURLToPath(new URL('../../build/examples/xdp-filter.bpf.o', import.meta.url));

const prog = loadProgram(object); // throws AfxdpError EVERIFIER (log in .detail) if rejected
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
for (const port of ports.split(',')) prog.update('allowed_ports', u32(Number(port)), u32(1));

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
const sock = open({ iface, program: prog });
console.error(`filtering on ${iface} (XDP ${sock.mode}, program ${sock.programName}), allowed UDP ports ${ports}`);
let received = 0;
for await (const batch of sock.batches({ signal: stop.signal })) {
  received += batch.length;
  if (received >= Number(limit)) break;
}

// per-CPU counters: one u64 per possible CPU, summed here
const sum = (slot: number): number => {
  const value = new BigUint64Array(64);
  prog.lookup('filter_stats', u32(slot), new Uint8Array(value.buffer));
  return Number(value.reduce((a, b) => a + b, 0n));
};
const l = sock.latency();
console.log(JSON.stringify({ received, delivered: sum(0), dropped: sum(1), p50_ns: l.p50, mode: sock.mode }));
sock.close();
prog.close();
