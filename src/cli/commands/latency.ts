import type { Command } from 'commander';
// the CLI uses only the public API (its entries)
import { runLatency, latencyMatch, AfxdpError } from '../../index.js';
import { renderTable } from '../../entry/report.js';
import { requireCaps, resolveRunAs, PROBE_NEEDS, RT_NEED } from '../../entry/privileges.js';
import { describeMatch, MATCH_NAMES, type MatchName } from '../../entry/receiver.js';
import { DEFAULT_UDP_PORT } from '../../entry/lab.js';
import { outputOptions } from '../outputs.js';
import { intArg, numArg, choiceArg, ifnameArg, queuesArg } from '../args.js';
import { note, printJson } from '../output.js';
import type { CliContext } from '../context.js';
import { addReceiveOptions, receiveOptions, type ReceiveFlags } from '../receive-flags.js';

interface LatencyFlags extends ReceiveFlags {
  senderTs?: boolean;
  iface: string;
  queue: number;
  packets?: number;
  duration?: number;
  bind: 'auto' | 'copy' | 'zerocopy';
  port?: number;
  match?: MatchName;
  all?: boolean;
  force?: boolean;
  queues?: number | 'all';
  broker?: string;
}

export function registerLatency(program: Command, ctx: () => CliContext): void {
  const cmd = program
    .command('latency')
    .description('measure XDP → user-space latency of the traffic arriving on an interface queue of this network namespace (the traffic comes from elsewhere)')
    .requiredOption('--iface <name>', 'interface to attach to', ifnameArg)
    .option('--queue <q>', 'RX queue (0..queues-1)', intArg('--queue', 0, 4095), 0)
    .option('--packets <n>', 'stop after this many packets', intArg('--packets', 1, Number.MAX_SAFE_INTEGER))
    .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)', numArg('--duration', 0.001, 31_536_000))
    .option('--bind <bind>', 'AF_XDP bind: auto (zero-copy, else copy), copy, zerocopy', choiceArg('--bind', ['auto', 'copy', 'zerocopy'] as const), 'auto')
    .option('--port <p>', `only UDP to this destination port (0 = any); without --match it takes every UDP datagram to that port (default: afxdp's frames to port ${DEFAULT_UDP_PORT})`, intArg('--port', 0, 65535))
    .option('--match <what>', "which frames to take: afxdp (default: afxdp's test frames, as `afxdp gen` sends them), udp (every UDP datagram, or to --port), all (every frame, like --all)", choiceArg('--match', MATCH_NAMES))
    .option('--all', 'take every frame of the queue, not only UDP (other traffic then no longer reaches the kernel stack on that queue)')
    .option('--queues <n|all>', 'measure queues 0..n-1 (or every RX queue) at once, one socket per queue', queuesArg)
    .option('--sender-ts', 'the traffic comes from an afxdp generator on this host: also measure sender → XDP from the TX time in its payload (same clock)')
    .option('--broker <path>', 'ask the broker at this socket (afxdp serve) for the queue: this process then needs no capability (docs/BROKER.md)')
    .option('--force', 'detach an XDP program that is already attached to the interface (netlink-attached only; it is not restored afterwards)');
  addReceiveOptions(cmd, '')
    .addHelpText(
      'after',
      `\nBy default only afxdp's own test frames (UDP to port ${DEFAULT_UDP_PORT} whose payload starts with its marker, as \`afxdp gen\` sends them) are taken; every other frame on the queue (DNS, NTP, QUIC, ssh, ARP, ...) still reaches the kernel. --port, --match udp and --all widen that.\n` +
        'Stops at --packets, at --duration, or at Ctrl-C / SIGTERM, whichever comes first, and reports what it measured.\n\n' +
        'Examples:\n  afxdp latency --iface eth0 --duration 10\n  afxdp latency --iface eth0 --queue 2 --port 9000 --packets 100000 --json\n',
    )
    .action(async (o: LatencyFlags) => {
      const c = ctx();
      if (o.queues !== undefined && o.queue !== 0) {
        throw new AfxdpError('EUSAGE', '--queue and --queues cannot be combined', { hint: 'use --queue Q for one queue or --queues N|all for several' });
      }
      const rx = receiveOptions(o);
      const { match, udpPort } = takenFrom(o);
      const nQueues = o.queues === undefined ? 1 : o.queues === 'all' ? 1 : o.queues;
      // before anything is opened, loaded or attached: name every missing capability at once
      // (through a broker, the broker holds them; only --rt is this process's own)
      if (o.broker === undefined) requireCaps('afxdp latency', o.rt ? [...PROBE_NEEDS, RT_NEED] : PROBE_NEEDS, { umemBytes: Math.max(4096, o.ringSize * 2) * 4096 * nQueues });
      else if (o.rt) requireCaps('afxdp latency', [RT_NEED]);
      const runAs = resolveRunAs({ user: o.user });
      const queues = o.queues === undefined ? [o.queue] : o.queues === 'all' ? 'all' : Array.from({ length: o.queues }, (_, i) => i);
      const until = [o.packets !== undefined ? `${o.packets} packets` : '', o.duration !== undefined ? `${o.duration} s` : '', 'Ctrl-C'].filter(Boolean).join(' or ');
      const { report, error } = await runLatency({
        spelling: 'cli',
        ...rx,
        iface: o.iface,
        queues,
        bind: o.bind,
        udpPort,
        match,
        senderRunId: o.senderTs ? 'any' : undefined,
        force: !!o.force,
        broker: o.broker,
        packets: o.packets,
        durationS: o.duration,
        warmup: o.warmup,
        signal: c.signal,
        dropPrivileges: runAs.drop,
        outputs: outputOptions(o),
        onMetrics: (url) => note(`metrics on ${url}`),
        onOpen: (r) => {
          if (runAs.drop) note(`privileges: ${runAs.text}`);
          if (r.replaced) note(`--force: detached XDP program ${r.replaced.name} (id ${r.replaced.id}) from ${o.iface}; it is not restored afterwards`);
          if (r.fragsNote) note(r.fragsNote);
          note(`measuring on ${o.iface} queue${r.queues.length > 1 ? 's' : ''} ${r.queues.join(',')} (XDP ${r.mode}, AF_XDP ${r.bindMode}${r.sg ? ` multi-buffer (MTU ${r.mtu}, ${r.frameSize}-byte frames)` : ''}, ${r.poll} poll, strategy ${r.strategy}, hints ${r.hints ? 'on' : `off: ${r.hintsOff}`}, taking ${describeMatch({ match, udpPort, program: o.program })}${o.broker ? `; through the broker at ${o.broker}` : ''}) until ${until}`);
        },
      });
      if (o.json) printJson(report);
      else process.stdout.write(renderTable(report) + '\n');
      // the report so far is out; the failure is the exit status and the one error line
      if (error) throw error;
    });
}

/**
 * What `afxdp latency` takes: afxdp's own frames to its port unless the flags widen it (on an
 * interface afxdp did not create, other UDP flows must keep reaching their sockets).
 */
function takenFrom(o: LatencyFlags): { match: MatchName; udpPort: number } {
  if (o.all && o.match !== undefined && o.match !== 'all') {
    throw new AfxdpError('EUSAGE', `--all and --match ${o.match} contradict each other`, { hint: 'use one of them (--all is --match all)' });
  }
  // the defaults are runLatency()'s own (the library call and the command take the same frames)
  const t = latencyMatch({ match: o.all ? 'all' : o.match, udpPort: o.port });
  if (t.match === 'all' && t.udpPort !== undefined) {
    throw new AfxdpError('EUSAGE', '--port does not apply with --all: every frame is taken', { hint: 'drop --port, or use --match udp --port P' });
  }
  return { match: t.match!, udpPort: t.udpPort ?? 0 };
}
