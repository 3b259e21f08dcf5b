// the CLI uses only the public API (its entries)
import { InvalidArgumentError, type Command } from 'commander';
import { runDemo, checkLabDriver, type SizeRange, type LabDriver } from '../../entry/lab.js';
import { renderTable } from '../../entry/report.js';
import { requireCaps, resolveRunAs, LAB_NEEDS, RT_NEED } from '../../entry/privileges.js';
import { intArg, sizeArg } from '../args.js';
import { note, printJson } from '../output.js';
import type { CliContext } from '../context.js';
import { outputOptions } from '../outputs.js';
import { addReceiveOptions, receiveOptions, type ReceiveFlags } from '../receive-flags.js';
import { addStackOptions, stackOptions, refuseStackFlags, type StackFlags } from '../stack-flags.js';

interface DemoFlags extends ReceiveFlags, StackFlags {
  driver: LabDriver;
  compareStack?: boolean;
  packets: number;
  rate: number;
  size: number | SizeRange;
  ping?: boolean;
  queues: number;
  txWorker?: boolean;
}

export function registerDemo(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command('demo')
    .description('build a private lab (two network namespaces joined by veth, or one with a tap: --driver), send UDP test traffic through XDP into an AF_XDP socket, and report the XDP → user-space latency; needs no NIC and removes everything it made')
    .option('--driver <name>', "the lab's driver: veth (two namespaces joined by a veth pair) or tap (one namespace with a tun/tap device, fed by writing frames to its fd: native XDP, metadata, no hash hints; not with --ping, --compare-stack or frames above 4096 bytes)", driverArg, 'veth')
    .option('--packets <n>', 'packets to send (1..100000000)', intArg('--packets', 1, 100_000_000), 10000)
    .option('--rate <pps>', 'packets per second, 0 = as fast as possible', intArg('--rate', 0, 100_000_000), 10000)
    .option('--size <bytes|min-max>', 'frame size without FCS (62..9000), or a range like 64-9000 the packets cycle through; above 1514 the lab is built with MTU 9000 and larger frames travel as multi-buffer packets', sizeArg, 64)
    .option('--queues <n>', 'lab queues (of the veth, or the tap): one AF_XDP socket per queue, traffic spread over all of them (1..64)', intArg('--queues', 1, 64), 1)
    .option('--ping', 'round trip: send with TX completion timestamps, reflect with XDP_TX in the other namespace, report rtt and tx_completion (event mode, one queue)')
    .option('--tx-worker', 'send from a worker thread per queue, off the receiving thread (a starved receiver then shows as kernel drops instead of slowing the sender)')
    .option('--compare-stack', 'AF_XDP vs the kernel stack on the same traffic: every other packet (--stack-every) is passed to the kernel stack with its XDP stamp in the payload and read by a UDP socket; the report gains `paths` (af_xdp, node_dgram, c_recvmmsg)');
  addStackOptions(cmd, 'with --compare-stack: ');
  addReceiveOptions(cmd, '; small rings plus --rate 0 force drops')
    .addHelpText('after', '\nExamples:\n  afxdp demo\n  afxdp demo --packets 100000 --rate 50000 --mode generic --json\n  afxdp demo --html run.html --pcap run.pcapng --csv run.csv --hlog run.hlog\n  afxdp demo --poll busy --queues 2 --strategy prepend --csv run.csv\n  afxdp demo --strategy auto --simulate-no-meta\n  afxdp demo --program examples/own-program/udp_filter.bpf.o\n  afxdp demo --ping --packets 1000 --rate 1000\n  afxdp demo --compare-stack --rate 100000 --packets 200000 --html stack.html\n  afxdp demo --size 9000 --pcap jumbo.pcapng\n  afxdp demo --size 64-9000 --frame-size 2048\n  afxdp demo --driver tap --poll busy\n')
    .action(async (o: DemoFlags) => {
      const c = ctx();
      if (!o.compareStack) refuseStackFlags(cmd);
      const rx = receiveOptions(o, !!o.ping || !!o.compareStack);
      // before any output file, namespace or program: the receiver's UMEM per queue plus the generators' (4096 frames of 4 KiB each)
      requireCaps('afxdp demo', o.rt ? [...LAB_NEEDS, RT_NEED] : LAB_NEEDS, { umemBytes: (Math.max(4096, o.ringSize * 2) + 4096) * 4096 * o.queues });
      const runAs = resolveRunAs({ user: o.user });
      // --compare-stack sets up as root for each of its runs: it keeps its privileges (SECURITY.md)
      const drop = o.compareStack ? null : runAs.drop;
      const report = await runDemo({
        ...rx,
        driver: o.driver,
        hints: rx.hints,
        packets: o.packets,
        rate: o.rate,
        size: o.size,
        frameSize: o.frameSize,
        ping: !!o.ping,
        warmup: o.warmup,
        txWorker: !!o.txWorker,
        ...(o.compareStack ? { compareStack: true, ...stackOptions(o) } : {}),
        queues: o.queues,
        signal: c.signal,
        dropPrivileges: drop,
        // the drop is said once the lab stands (an output error before it stays the one line)
        log: o.json ? undefined : dropNoted(drop ? `privileges: ${runAs.text}` : null),
        outputs: outputOptions(o),
        onMetrics: (url) => note(`metrics on ${url}`),
      });
      if (o.json) printJson(report);
      else process.stdout.write(renderTable(report) + '\n');
    });
}

/** --driver: the lab's one check, so the CLI says what the library says (with its did-you-mean). */
function driverArg(v: string): LabDriver {
  try {
    return checkLabDriver(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** The notes, with `first` said before the first of them. */
function dropNoted(first: string | null): (line: string) => void {
  let said = first === null;
  return (line) => {
    if (!said) note(first!);
    said = true;
    note(line);
  };
}
