import type { Command } from 'commander';
// the CLI uses only the public API (its entries)
import { runCompareIface } from '../../entry/lab.js';
import { renderTable } from '../../entry/report.js';
import { requireCaps, PROBE_NEEDS } from '../../entry/privileges.js';
import { POLL_MODES, type PollMode } from '../../entry/receiver.js';
import { intArg, numArg, choiceArg, ifnameArg, ringSizeArg } from '../args.js';
import { note, printJson } from '../output.js';
import type { CliContext } from '../context.js';
import { addStackOptions, stackOptions, type StackFlags } from '../stack-flags.js';

interface CompareFlags extends StackFlags {
  iface: string;
  port: number;
  queue: number;
  packets?: number;
  duration?: number;
  mode: 'auto' | 'native' | 'generic';
  bind: 'auto' | 'copy' | 'zerocopy';
  poll: PollMode;
  batch: number;
  ringSize: number;
  force?: boolean;
  html?: string;
  json?: boolean;
}

/**
 * `afxdp compare`: the kernel-stack comparison on a real interface. Its flags are the ones that
 * apply to it (no --program, --clock tai or --warmup: the comparison refuses them); the files of
 * a run are `afxdp latency`'s business, the overlay page (--html) is this command's.
 */
export function registerCompare(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command('compare')
    .description('AF_XDP vs the kernel stack on the same live traffic: the UDP flow to --port on --iface is split in XDP, every other packet to the kernel stack (stamped in its payload, read by a UDP socket) and the rest to an AF_XDP socket; one report with a section per path. (Saved runs are compared with `afxdp report A B`.)')
    .requiredOption('--iface <name>', 'interface the flow arrives on', ifnameArg)
    .requiredOption('--port <p>', 'UDP destination port of the flow: afxdp test frames of at least 70 bytes (e.g. `afxdp gen --size 70`)', intArg('--port', 1, 65535))
    .option('--queue <q>', 'RX queue (0..queues-1)', intArg('--queue', 0, 4095), 0)
    .option('--packets <n>', 'stop each run after this many AF_XDP packets', intArg('--packets', 1, Number.MAX_SAFE_INTEGER))
    .option('--duration <s>', 'stop each run after this many seconds', numArg('--duration', 0.001, 31_536_000))
    .option('--mode <mode>', 'XDP attach mode: auto (native, else generic), native, generic', choiceArg('--mode', ['auto', 'native', 'generic'] as const), 'auto')
    .option('--bind <bind>', 'AF_XDP bind: auto (zero-copy, else copy), copy, zerocopy', choiceArg('--bind', ['auto', 'copy', 'zerocopy'] as const), 'auto')
    .option('--poll <mode>', 'AF_XDP receive mode: event, worker or busy (CPU per packet is measured in event mode only)', choiceArg('--poll', POLL_MODES), 'event')
    .option('--batch <n>', 'descriptors per AF_XDP receive batch', intArg('--batch', 1, 4096), 64)
    .option('--ring-size <n>', 'AF_XDP RX and fill ring entries, a power of two (8..8192)', ringSizeArg, 2048)
    .option('--force', 'detach an XDP program that is already attached to the interface (netlink-attached only; it is not restored afterwards)');
  addStackOptions(cmd, '')
    .option('--html <file>', 'write the overlay page: every path\'s latency distribution in one plot (the page of `afxdp report A B`)')
    .option('--json', 'print only the afxdp.report/1 JSON document (with `paths`) on stdout')
    .addHelpText('after', '\nThe stack receiver binds the port on every address of this namespace: nothing else may hold it.\nProgress notes go to stderr, also with --json.\n\nExamples:\n  afxdp compare --iface eth0 --port 9000 --duration 10\n  afxdp compare --iface eth0 --port 9000 --packets 100000 --stack-receiver c --json\n')
    .action(async (o: CompareFlags) => {
      const c = ctx();
      requireCaps('afxdp compare', PROBE_NEEDS, { umemBytes: Math.max(4096, o.ringSize * 2) * 4096 });
      const report = await runCompareIface({
        ...stackOptions(o),
        iface: o.iface,
        udpPort: o.port,
        spelling: 'cli',
        queues: [o.queue],
        mode: o.mode,
        bind: o.bind,
        poll: o.poll,
        batchSize: o.batch,
        ringSize: o.ringSize,
        force: !!o.force,
        packets: o.packets,
        durationS: o.duration,
        signal: c.signal,
        outputs: { html: o.html },
        // on stderr even with --json: a caller waits for the attach line before sending
        log: note,
      });
      if (o.json) printJson(report);
      else process.stdout.write(renderTable(report) + '\n');
    });
}
