import type { Command } from 'commander';
// the CLI uses the public API (src/index.ts); the run outputs are the CLI's own
import { LatencyProbe, LatencyReceiver, AfxdpError, waitForEnd, probeReport, renderTable } from '../../index.js';
import { runEnvironment, packageVersion } from '../../run/session.js';
import { RunMonitor } from '../../measure/monitor.js';
import { RunOutputs } from '../../report/outputs.js';
import { addOutputOptions, outputOptions, type OutputFlags } from '../outputs.js';
import { intArg, numArg, choiceArg, ifnameArg, ringSizeArg, queuesArg } from '../args.js';
import { note, printJson } from '../output.js';
import type { CliContext } from '../context.js';
import { STRATEGY_NAMES, type StrategyName } from '../../xdp/meta.js';
import { STRATEGY_HELP, SIMULATE_HELP, PROGRAM_HELP, XSKMAP_HELP, HINTS_HELP, NO_HINTS_HELP, checkProgramFlags, hintsOption } from './stamp-flags.js';
import { requireCaps, PROBE_NEEDS } from '../../sys/caps.js';

interface LatencyFlags extends OutputFlags {
  senderTs?: boolean;
  iface: string;
  queue: number;
  packets?: number;
  duration?: number;
  mode: 'auto' | 'native' | 'generic';
  bind: 'auto' | 'copy' | 'zerocopy';
  clock: 'monotonic' | 'tai';
  port: number;
  all?: boolean;
  strategy: StrategyName;
  simulateNoMeta?: boolean;
  program?: string;
  xskmap?: string;
  hints?: boolean;
  ringSize: number;
  debugFrames?: boolean;
  force?: boolean;
  json?: boolean;
  poll: 'event' | 'busy';
  queues?: number | 'all';
  batch: number;
}

export function registerLatency(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command('latency')
    .description('measure XDP → user-space latency of the traffic arriving on an interface queue of this network namespace (the traffic comes from elsewhere)')
    .requiredOption('--iface <name>', 'interface to attach to', ifnameArg)
    .option('--queue <q>', 'RX queue (0..queues-1)', intArg('--queue', 0, 4095), 0)
    .option('--packets <n>', 'stop after this many packets', intArg('--packets', 1, Number.MAX_SAFE_INTEGER))
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', numArg('--duration', 0.001, 31_536_000))
    .option('--mode <mode>', 'XDP attach mode: auto, native, generic', choiceArg('--mode', ['auto', 'native', 'generic'] as const), 'auto')
    .option('--bind <bind>', 'AF_XDP bind: auto (zero-copy, else copy), copy, zerocopy', choiceArg('--bind', ['auto', 'copy', 'zerocopy'] as const), 'auto')
    .option('--clock <clock>', 'clock of the stamps: monotonic or tai', choiceArg('--clock', ['monotonic', 'tai'] as const), 'monotonic')
    .option('--port <p>', 'only UDP packets to this destination port (0 = any UDP)', intArg('--port', 0, 65535), 0)
    .option('--all', 'take every frame of the queue, not only UDP (other traffic then no longer reaches the kernel stack on that queue)')
    .option('--poll <mode>', 'receive mode: event (uv_poll on the main thread) or busy (a worker thread spins per queue)', choiceArg('--poll', ['event', 'busy'] as const), 'event')
    .option('--queues <n|all>', 'measure queues 0..n-1 (or every RX queue) at once, one socket per queue', queuesArg)
    .option('--batch <n>', 'descriptors per receive batch', intArg('--batch', 1, 4096), 64)
    .option('--sender-ts', 'the traffic comes from an afxdp generator on this host: also measure sender → XDP from the TX time in its payload (same clock)')
    .option('--strategy <s>', STRATEGY_HELP, choiceArg('--strategy', STRATEGY_NAMES), 'auto')
    .option('--simulate-no-meta', SIMULATE_HELP)
    .option('--hints', HINTS_HELP)
    .option('--no-hints', NO_HINTS_HELP)
    .option('--program <obj.o>', PROGRAM_HELP)
    .option('--xskmap <name>', XSKMAP_HELP)
    .option('--ring-size <n>', 'RX and fill ring entries, a power of two (8..8192)', ringSizeArg, 2048)
    .option('--debug-frames', 'assert at every batch that each UMEM frame is in exactly one place (slower; for debugging)')
    .option('--force', 'detach an XDP program that is already attached to the interface (netlink-attached only; it is not restored afterwards)')
    .option('--json', 'print only the afxdp.report/1 JSON document on stdout');
  addOutputOptions(cmd)
    .addHelpText(
      'after',
      '\nBy default only UDP (IPv4/IPv6) is redirected to afxdp; everything else on the queue (ssh, ARP, ...) still reaches the kernel.\n' +
        'Stops at --packets, at --duration, or at Ctrl-C / SIGTERM, whichever comes first, and reports what it measured.\n\n' +
        'Examples:\n  afxdp latency --iface eth0 --duration 10\n  afxdp latency --iface eth0 --queue 2 --port 9000 --packets 100000 --json\n',
    )
    .action(async (o: LatencyFlags) => {
      const c = ctx();
      checkProgramFlags(o);
      // before anything is opened, loaded or attached: name every missing capability at once
      requireCaps('afxdp latency', PROBE_NEEDS, { umemBytes: Math.max(4096, o.ringSize * 2) * 4096 });
      if (o.poll === 'busy' || o.queues !== undefined) return runReceiver(o, c);
      // outputs first: an unwritable path or a busy port fails before anything is attached
      const outs = await RunOutputs.open({ ...outputOptions(o), target: o.packets, application: `afxdp ${packageVersion()}` });
      let probe: LatencyProbe;
      try {
        probe = LatencyProbe.open({ ifname: o.iface, queue: o.queue, mode: o.mode, bind: o.bind, clock: o.clock, udpPort: o.port, match: o.all ? 'all' : 'udp', senderRunId: o.senderTs ? 'any' : undefined,
          strategy: o.strategy,
          simulateNoMeta: !!o.simulateNoMeta,
          program: o.program,
          xskmap: o.xskmap,
          hints: hintsOption(o.hints),
          ringSize: o.ringSize,
          trackFrames: !!o.debugFrames,
          force: !!o.force,
          batchSize: o.batch,
        });
      } catch (e) {
        await outs.close();
        throw e;
      }
      if (probe.replaced) note(`--force: detached XDP program ${probe.replaced.name} (id ${probe.replaced.id}) from ${o.iface}; it is not restored afterwards`);
      const monitor = new RunMonitor([probe]);
      try {
        const env = runEnvironment(packageVersion(), o.iface);
        outs.attach([probe], monitor, { iface: o.iface, queues: [o.queue], mode: probe.mode, bind: probe.bindMode, strategy: probe.strategy, clock: o.clock, poll: 'event', env }, o.clock);
        if (outs.metrics) note(`metrics on ${outs.metrics.url}`);
        monitor.start();
        probe.start();
        const until = [o.packets !== undefined ? `${o.packets} packets` : '', o.duration !== undefined ? `${o.duration} s` : '', 'Ctrl-C'].filter(Boolean).join(' or ');
        note(`measuring on ${o.iface} queue ${o.queue} (XDP ${probe.mode}, AF_XDP ${probe.bindMode}, strategy ${probe.strategy}, hints ${probe.hints ? 'on' : `off: ${probe.hintsOff}`}, ${o.all ? 'all frames' : o.port ? `UDP port ${o.port}` : 'UDP'}) until ${until}`);
        const t0 = process.hrtime.bigint();
        await waitForEnd(probe, { packets: o.packets, durationS: o.duration, signal: c.signal });
        probe.drain();
        monitor.stop();
        const report = probeReport(probe, { sent: null, durationS: Number(process.hrtime.bigint() - t0) / 1e9, poll: 'event', env, monitor });
        await outs.finish(report);
        if (o.json) printJson(report);
        else process.stdout.write(renderTable(report) + '\n');
        // the report so far is out; the failure is the exit status and the one error line
        if (probe.error) throw probe.error;
      } finally {
        monitor.stop();
        probe.close();
        await outs.close();
      }
    });
}

/**
 * --poll busy or --queues: the multi-queue receiver (src/measure/receiver.ts). The output files,
 * /metrics and --sender-ts follow the single-queue event-mode probe for now: refused here, not
 * silently lost (the live view is just not drawn).
 */
async function runReceiver(o: LatencyFlags, c: CliContext): Promise<void> {
  if (o.queues !== undefined && o.queue !== 0) {
    throw new AfxdpError('EUSAGE', '--queue and --queues cannot be combined', { hint: 'use --queue Q for one queue or --queues N|all for several' });
  }
  if (o.csv || o.hlog || o.pcap || o.html || o.prometheus || o.senderTs) {
    throw new AfxdpError('EUSAGE', 'output files, --prometheus and --sender-ts are not available with --poll busy or --queues yet', {
      hint: 'use the JSON report (--json), or --poll event on one queue for the outputs',
    });
  }
  // the receiver reads metadata stamps from afxdp's program only
  if ((o.strategy !== 'auto' && o.strategy !== 'meta') || o.simulateNoMeta || o.program !== undefined || o.hints === true || o.debugFrames || o.force) {
    throw new AfxdpError('EUSAGE', '--strategy prepend|map, --simulate-no-meta, --program, --hints, --debug-frames and --force are not available with --poll busy or --queues yet', {
      hint: 'drop them, or use --poll event on one queue',
    });
  }
  const queues = o.queues === undefined ? [o.queue] : o.queues === 'all' ? 'all' : Array.from({ length: o.queues }, (_, i) => i);
  const rx = await LatencyReceiver.open({ ifname: o.iface, queues, poll: o.poll, mode: o.mode, bind: o.bind, clock: o.clock, udpPort: o.port, match: o.all ? 'all' : 'udp', batchSize: o.batch, ringSize: o.ringSize });
  try {
    rx.start();
    const until = [o.packets !== undefined ? `${o.packets} packets` : '', o.duration !== undefined ? `${o.duration} s` : '', 'Ctrl-C'].filter(Boolean).join(' or ');
    note(`measuring on ${o.iface} queue${rx.queues.length > 1 ? 's' : ''} ${rx.queues.join(',')} (XDP ${rx.mode}, AF_XDP ${rx.bindMode}, ${o.poll} poll, ${o.all ? 'all frames' : o.port ? `UDP port ${o.port}` : 'UDP'}) until ${until}`);
    const t0 = process.hrtime.bigint();
    await waitForEnd(rx, { packets: o.packets, durationS: o.duration, signal: c.signal });
    await rx.close();
    const report = rx.report({ sent: null, durationS: Number(process.hrtime.bigint() - t0) / 1e9 });
    report.env = runEnvironment(packageVersion(), o.iface);
    if (o.json) printJson(report);
    else process.stdout.write(renderTable(report) + '\n');
  } finally {
    await rx.close();
  }
}
