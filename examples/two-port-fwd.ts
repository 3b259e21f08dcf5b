// SPDX-License-Identifier: MIT
/**
 * A two-port forwarder on one shared UMEM (xdpsock's l2fwd over two interfaces): what arrives on
 * IFACE_A leaves by IFACE_B and the other way round, from the very frame it was received into —
 * the two AF_XDP sockets share one UMEM (openXsk's shareUmem), so no byte is copied. The Ethernet
 * header is rewritten for the port it leaves by (its own address as source, DST as destination).
 * Usage: two-port-fwd IFACE_A IFACE_B DST_MAC_A DST_MAC_B. Runs until SIGINT/SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { openXsk, loadProgram, XSK_REDIRECT_PROGRAM, type XskSocket } from 'afxdp';
import { macFromString } from 'afxdp/lab';

/** Forwards between two sockets that share one UMEM; pump() is one turn of the loop. */
export class TwoPortForwarder {
  /** packets forwarded a → b and b → a */
  readonly forwarded = [0, 0];
  /** packets dropped because the other port's TX ring was full */
  readonly dropped = [0, 0];

  /** `header[k]`: the 12 bytes (destination, source MAC) written into frames leaving port k, or null to leave them */
  constructor(
    readonly ports: readonly [XskSocket, XskSocket],
    private readonly header: readonly [Uint8Array | null, Uint8Array | null] = [null, null],
  ) {
    if (ports[0].umem !== ports[1].umem) throw new Error('the two ports must share one UMEM (openXsk({ shareUmem }))');
  }

  /** Moves what each port received out of the other; returns how many packets left. */
  pump(): number {
    let moved = 0;
    for (let k = 0; k < 2; k++) {
      const from = this.ports[k]!;
      const to = this.ports[1 - k]!;
      if (from.rx === null || to.tx === null) continue;
      const n = from.receive();
      if (n > 0) {
        const bytes = from.umem.bytes;
        const h = this.header[1 - k];
        for (let i = 0; i < n; i++) {
          if (h !== null && h !== undefined) bytes.set(h, from.rxAddr[i]!);
          if (from.forward(i, to)) this.forwarded[k]!++;
          else this.dropped[k]!++;
        }
        from.recycle(n);
        moved += n;
      }
      // copy mode sends a kick's worth at a time: kick while descriptors wait on the TX ring
      if (to.txQueuedCount > 0 || to.tx.pending() > 0) to.txFlush();
      // frames sent come back on the sender's completion ring; the receiver owes them to its fill ring
      to.reclaim();
      from.reclaim();
    }
    return moved;
  }
}

async function main(): Promise<void> {
  const [ifA, ifB, dstA, dstB] = process.argv.slice(2);
  if (!ifA || !ifB || !dstA || !dstB) {
    console.error('usage: two-port-fwd IFACE_A IFACE_B DST_MAC_A DST_MAC_B');
    process.exit(2);
  }
  const a = openXsk({ iface: ifA, rxRingSize: 2048, txRingSize: 2048 });
  const b = openXsk({ iface: ifB, rxRingSize: 2048, txRingSize: 2048, shareUmem: a });
  const progs = [ifA, ifB].map((iface, k) => {
    const p = loadProgram(XSK_REDIRECT_PROGRAM);
    p.register(k === 0 ? a : b);
    p.attach(iface);
    return p;
  });
  const header = (dst: string, iface: string): Uint8Array => {
    const h = new Uint8Array(12);
    h.set(macFromString(dst), 0);
    // the port's own address, as iproute2 reports it in this network namespace
    const [link] = JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'dev', iface], { encoding: 'utf8' })) as Array<{ address: string }>;
    h.set(macFromString(link!.address), 6);
    return h;
  };
  const fwd = new TwoPortForwarder([a, b], [header(dstA, ifA), header(dstB, ifB)]);
  console.error(`forwarding ${ifA} <-> ${ifB} on one UMEM (AF_XDP ${a.bindMode})`);
  let running = true;
  const quit = (): void => {
    running = false;
  };
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
  while (running) {
    if (fwd.pump() === 0) await new Promise((r) => setImmediate(r));
  }
  b.close();
  a.close();
  for (const p of progs) p.close();
  console.error(`forwarded ${fwd.forwarded[0]} ${ifA} -> ${ifB}, ${fwd.forwarded[1]} ${ifB} -> ${ifA}; dropped ${fwd.dropped[0] + fwd.dropped[1]}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
