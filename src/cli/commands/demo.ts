import type { Command } from 'commander';
// the CLI uses only the public API (src/index.ts)
import { runDemo, renderTable } from '../../index.js';
import { intArg, choiceArg, ringSizeArg } from '../args.js';
import { note, printJson } from '../output.js';
import type { CliContext } from '../context.js';
import { addOutputOptions, outputOptions, type OutputFlags } from '../outputs.js';
import { STRATEGY_NAMES, type StrategyName } from '../../xdp/meta.js';
import { STRATEGY_HELP, SIMULATE_HELP, PROGRAM_HELP, XSKMAP_HELP, HINTS_HELP, NO_HINTS_HELP, checkProgramFlags, hintsOption } from './stamp-flags.js';
import { requireCaps, LAB_NEEDS } from '../../sys/caps.js';

export function registerDemo(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command('demo')
    .description('build a private lab (two network namespaces joined by veth), send UDP test traffic through XDP into an AF_XDP socket, and report the XDP → user-space latency; needs no NIC and removes everything it made')
    .option('--packets <n>', 'packets to send (1..100000000)', intArg('--packets', 1, 100_000_000), 10000)
    .option('--rate <pps>', 'packets per second, 0 = as fast as possible', intArg('--rate', 0, 100_000_000), 10000)
    .option('--mode <mode>', 'XDP attach mode: auto (native, else generic), native, generic', choiceArg('--mode', ['auto', 'native', 'generic'] as const), 'auto')
    .option('--clock <clock>', 'clock of the stamps: monotonic or tai', choiceArg('--clock', ['monotonic', 'tai'] as const), 'monotonic')
    .option('--strategy <s>', STRATEGY_HELP, choiceArg('--strategy', STRATEGY_NAMES), 'auto')
    .option('--simulate-no-meta', SIMULATE_HELP)
    .option('--hints', HINTS_HELP)
    .option('--no-hints', NO_HINTS_HELP)
    .option('--program <obj.o>', PROGRAM_HELP)
    .option('--xskmap <name>', XSKMAP_HELP)
    .option('--ring-size <n>', 'RX and fill ring entries, a power of two (8..8192); small rings plus --rate 0 force drops', ringSizeArg, 2048)
    .option('--debug-frames', 'assert at every batch that each UMEM frame is in exactly one place (slower; for debugging)')
    .option('--ping', 'round trip: send with TX completion timestamps, reflect with XDP_TX in the other namespace, report rtt and tx_completion')
    .option('--poll <mode>', 'receive mode: event (uv_poll on the main thread) or busy (a worker thread spins per queue)', choiceArg('--poll', ['event', 'busy'] as const), 'event')
    .option('--queues <n>', 'veth queues: one AF_XDP socket per queue, traffic spread over all of them (1..64)', intArg('--queues', 1, 64), 1)
    .option('--batch <n>', 'descriptors per receive batch', intArg('--batch', 1, 4096), 64)
    .option('--json', 'print only the afxdp.report/1 JSON document on stdout');
  addOutputOptions(cmd)
    .addHelpText('after', '\nExamples:\n  afxdp demo\n  afxdp demo --packets 100000 --rate 50000 --mode generic --json\n  afxdp demo --html run.html --pcap run.pcapng --csv run.csv --hlog run.hlog\n  afxdp demo --strategy auto --simulate-no-meta\n  afxdp demo --program examples/own-program/udp_filter.bpf.o\n  afxdp demo --ping --packets 1000 --rate 1000\n')
    .action(async (o: OutputFlags & { packets: number; rate: number; mode: 'auto' | 'native' | 'generic'; clock: 'monotonic' | 'tai'; strategy: StrategyName; simulateNoMeta?: boolean; program?: string; xskmap?: string; hints?: boolean; ringSize: number; debugFrames?: boolean; ping?: boolean; json?: boolean; poll: 'event' | 'busy'; queues: number; batch: number }) => {
      const c = ctx();
      checkProgramFlags(o);
      // before any output file, namespace or program: the probe's UMEM plus the generator's (4096 frames of 4 KiB)
      requireCaps('afxdp demo', LAB_NEEDS, { umemBytes: (Math.max(4096, o.ringSize * 2) + 4096) * 4096 });
      const report = await runDemo({
        packets: o.packets,
        rate: o.rate,
        mode: o.mode,
        clock: o.clock,
        strategy: o.strategy,
        simulateNoMeta: !!o.simulateNoMeta,
        program: o.program,
        xskmap: o.xskmap,
        hints: hintsOption(o.hints),
        ringSize: o.ringSize,
        trackFrames: !!o.debugFrames,
        ping: !!o.ping,
        poll: o.poll,
        queues: o.queues,
        batchSize: o.batch,
        signal: c.signal,
        log: o.json ? undefined : note,
        outputs: outputOptions(o),
        onMetrics: (url) => note(`metrics on ${url}`),
      });
      if (o.json) printJson(report);
      else process.stdout.write(renderTable(report) + '\n');
    });
}
