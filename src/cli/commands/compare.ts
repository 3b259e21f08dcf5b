import type { Command } from 'commander';
// the CLI uses only the public API (src/index.ts)
import { runCompareIface, renderTable, requireCaps, PROBE_NEEDS, RT_NEED } from '../../index.js';
import { outputOptions } from '../outputs.js';
import { intArg, numArg, choiceArg, ifnameArg } from '../args.js';
import { note, printJson } from '../output.js';
import type { CliContext } from '../context.js';
import { addReceiveOptions, receiveOptions, type ReceiveFlags } from '../receive-flags.js';
import { addStackOptions, stackOptions, type StackFlags } from '../stack-flags.js';

interface CompareFlags extends ReceiveFlags, StackFlags {
  iface: string;
  port: number;
  queue: number;
  packets?: number;
  duration?: number;
  bind: 'auto' | 'copy' | 'zerocopy';
  force?: boolean;
}

export function registerCompare(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command('compare')
    .description('AF_XDP vs the kernel stack on the same live traffic: the UDP flow to --port on --iface is split in XDP, every other packet to the kernel stack (stamped in its payload, read by a UDP socket) and the rest to an AF_XDP socket; one report with a section per path. Saved runs are compared with `afxdp report A B`')
    .requiredOption('--iface <name>', 'interface the flow arrives on', ifnameArg)
    .requiredOption('--port <p>', 'UDP destination port of the flow (afxdp test frames of at least 70 bytes, e.g. from `afxdp gen --size 70`)', intArg('--port', 1, 65535))
    .option('--queue <q>', 'RX queue (0..queues-1)', intArg('--queue', 0, 4095), 0)
    .option('--packets <n>', 'stop each run after this many AF_XDP packets', intArg('--packets', 1, Number.MAX_SAFE_INTEGER))
    .option('--duration <s>', 'stop each run after this many seconds', numArg('--duration', 0.001, 31_536_000))
    .option('--bind <bind>', 'AF_XDP bind: auto (zero-copy, else copy), copy, zerocopy', choiceArg('--bind', ['auto', 'copy', 'zerocopy'] as const), 'auto')
    .option('--force', 'detach an XDP program that is already attached to the interface (netlink-attached only; it is not restored afterwards)');
  addStackOptions(cmd, '');
  addReceiveOptions(cmd, '')
    .addHelpText('after', '\nThe stack receiver binds the port on every address of this namespace: nothing else may hold it.\n\nExamples:\n  afxdp compare --iface eth0 --port 9000 --duration 10\n  afxdp compare --iface eth0 --port 9000 --packets 100000 --stack-receiver c --json\n')
    .action(async (o: CompareFlags) => {
      const c = ctx();
      const rx = receiveOptions(o);
      requireCaps('afxdp compare', o.rt ? [...PROBE_NEEDS, RT_NEED] : PROBE_NEEDS, { umemBytes: Math.max(4096, o.ringSize * 2) * 4096 });
      const report = await runCompareIface({
        ...rx,
        ...stackOptions(o),
        ifname: o.iface,
        port: o.port,
        queues: [o.queue],
        bind: o.bind,
        force: !!o.force,
        packets: o.packets,
        durationS: o.duration,
        warmup: o.warmup,
        signal: c.signal,
        outputs: outputOptions(o),
        onMetrics: (url) => note(`metrics on ${url}`),
        // on stderr even with --json: a caller waits for the attach line before sending
        log: note,
      });
      if (o.json) printJson(report);
      else process.stdout.write(renderTable(report) + '\n');
    });
}
