import type { Command } from 'commander';
import { GeneratorThread, macFromString, ipv4FromString, FRAME_MIN, FRAME_MAX, DEFAULT_UDP_PORT, type SizeRange } from '../../entry/lab.js';
import { intArg, ifnameArg, sizeArg, frameSizeArg } from '../args.js';
import { note, printJson } from '../output.js';
import type { CliContext } from '../context.js';

interface GenFlags {
  iface: string;
  dstMac: string;
  srcMac?: string;
  srcIp: string;
  dstIp: string;
  port: number;
  queue: number;
  rate: number;
  count?: number;
  size: number | SizeRange;
  frameSize: number;
  batch: number;
  json?: boolean;
}

export function registerGen(program: Command, ctx: () => CliContext): void {
  program
    .command('gen')
    .description('send UDP test frames (run id, sequence number, TX time in the payload) through an AF_XDP TX socket; the traffic `afxdp latency` and the demo measure')
    .requiredOption('--iface <name>', 'interface to send on', ifnameArg)
    .requiredOption('--dst-mac <mac>', 'destination MAC (the receiving interface)')
    .option('--src-mac <mac>', 'source MAC (default: the MAC of --iface)')
    .option('--src-ip <ip>', 'source IPv4 address', '198.18.0.1')
    .option('--dst-ip <ip>', 'destination IPv4 address', '198.18.0.2')
    .option('--port <p>', 'UDP destination port', intArg('--port', 1, 65535), DEFAULT_UDP_PORT)
    .option('--queue <q>', 'TX queue (on veth, the peer receives on the same queue number)', intArg('--queue', 0, 4095), 0)
    .option('--rate <pps>', 'packets per second, 0 = as fast as possible', intArg('--rate', 0, 100_000_000), 0)
    .option('--count <n>', 'packets to send (default: until Ctrl-C)', intArg('--count', 1, Number.MAX_SAFE_INTEGER))
    .option('--size <bytes|min-max>', `frame size without FCS (${FRAME_MIN}..${FRAME_MAX}), or a range like 64-9000 the packets cycle through; frames larger than a UMEM frame go out as one multi-buffer packet (XDP_USE_SG, kernel ≥ 6.6; the interface's MTU must carry them)`, sizeArg, 64)
    .option('--frame-size <bytes>', 'UMEM frame size, 2048 or 4096', frameSizeArg, 4096)
    .option('--batch <n>', 'descriptors per TX batch (copy mode sends ≤32 per sendto)', intArg('--batch', 1, 2048), 32)
    .option('--json', 'print the result as one JSON object on stdout')
    .addHelpText(
      'after',
      '\nSends only where you point it: use it between interfaces you own (e.g. a veth pair in your own namespaces).\n\n' +
        'Examples:\n  afxdp gen --iface veth0 --dst-mac 02:00:00:00:00:02 --count 1000000\n  afxdp gen --iface veth0 --dst-mac 02:00:00:00:00:02 --rate 100000 --size 128\n  afxdp gen --iface veth0 --dst-mac 02:00:00:00:00:02 --count 1000 --size 9000\n',
    )
    .action(async (o: GenFlags) => {
      const c = ctx();
      const dstMac = macFromString(o.dstMac);
      const srcMac = o.srcMac === undefined ? undefined : macFromString(o.srcMac); // default: the MAC of --iface
      const count = o.count ?? Number.MAX_SAFE_INTEGER;
      // the sender runs in a worker thread of its own, in a loop that never yields (as bench/c/tx_ref):
      // this thread keeps Ctrl-C and stops it through shared memory
      const gen = new GeneratorThread(
        { ifname: o.iface, queue: o.queue, srcMac, dstMac, srcIp: ipv4FromString(o.srcIp), dstIp: ipv4FromString(o.dstIp), dstPort: o.port, size: o.size, frameSize: o.frameSize, batchSize: o.batch },
        { count, rate: o.rate, signal: c.signal },
      );
      try {
        await gen.ready;
        if (!o.json) note(`sending ${o.count ?? 'until Ctrl-C'}${o.count ? ' packets' : ''} of ${typeof o.size === 'number' ? o.size : `${o.size.min}-${o.size.max}`} bytes${gen.sg ? ' (multi-buffer)' : ''} on ${o.iface} queue ${o.queue} (AF_XDP ${gen.bindMode}) at ${o.rate === 0 ? 'full speed' : `${o.rate} pps`}`);
        gen.start();
        const r = await gen.result;
        // from the first batch to the last completion, measured in the sending thread (as tx_ref's elapsed_ns)
        const durationS = r.seconds;
        const result = {
          iface: o.iface,
          queue: o.queue,
          bind: gen.bindMode,
          size: o.size,
          sg: gen.sg,
          sent: r.sent,
          duration_s: Math.round(durationS * 1e6) / 1e6,
          pps: durationS > 0 ? Math.round(r.sent / durationS) : 0,
          tx_invalid_descs: r.txInvalidDescs,
        };
        if (o.json) printJson(result);
        else process.stdout.write(`sent ${r.sent} packets in ${Math.round(durationS * 1000) / 1000} s (${(result.pps / 1e6).toFixed(3)} Mpps)\n`);
      } finally {
        gen.close();
      }
    });
}
