import type { Command } from 'commander';
// the CLI uses only the public API (src/index.ts)
import { runDemo, renderTable } from '../../index.js';
import { intArg, choiceArg } from '../args.js';
import { note, printJson } from '../output.js';
import type { CliContext } from '../context.js';
import { addOutputOptions, outputOptions, type OutputFlags } from '../outputs.js';

export function registerDemo(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command('demo')
    .description('build a private lab (two network namespaces joined by veth), send UDP test traffic through XDP into an AF_XDP socket, and report the XDP → user-space latency; needs no NIC and removes everything it made')
    .option('--packets <n>', 'packets to send (1..100000000)', intArg('--packets', 1, 100_000_000), 10000)
    .option('--rate <pps>', 'packets per second, 0 = as fast as possible', intArg('--rate', 0, 100_000_000), 10000)
    .option('--mode <mode>', 'XDP attach mode: auto (native, else generic), native, generic', choiceArg('--mode', ['auto', 'native', 'generic'] as const), 'auto')
    .option('--clock <clock>', 'clock of the stamps: monotonic or tai', choiceArg('--clock', ['monotonic', 'tai'] as const), 'monotonic')
    .option('--json', 'print only the afxdp.report/1 JSON document on stdout');
  addOutputOptions(cmd)
    .addHelpText('after', '\nExamples:\n  afxdp demo\n  afxdp demo --packets 100000 --rate 50000 --mode generic --json\n  afxdp demo --html run.html --pcap run.pcapng --csv run.csv --hlog run.hlog\n')
    .action(async (o: OutputFlags & { packets: number; rate: number; mode: 'auto' | 'native' | 'generic'; clock: 'monotonic' | 'tai'; json?: boolean }) => {
      const c = ctx();
      const report = await runDemo({ packets: o.packets, rate: o.rate, mode: o.mode, clock: o.clock, signal: c.signal, log: o.json ? undefined : note, outputs: outputOptions(o), onMetrics: (url) => note(`metrics on ${url}`) });
      if (o.json) printJson(report);
      else process.stdout.write(renderTable(report) + '\n');
    });
}
