import fs from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
// the CLI uses only the public API (its entries)
import { Broker, DEFAULT_LIMITS, type BrokerLimits } from '../../entry/broker.js';
import { requireCaps, PROBE_NEEDS } from '../../entry/privileges.js';
import { RING_SIZE_MAX, FRAME_COUNT_MAX } from '../../entry/receiver.js';
import { intArg, numArg, ifnameArg, optionArg } from '../args.js';
import { note } from '../output.js';
import type { CliContext } from '../context.js';

interface ServeFlags {
  socket: string;
  allowUid: number[];
  allowGid: number[];
  iface: string[];
  group?: number;
  mode: number;
  maxRingSize: number;
  maxFrameCount: number;
  maxConnections: number;
  maxConnectionsPerUid: number;
  maxQueuesPerUid: number;
  maxUmemPerUid: number;
  maxUmem: number;
  maxRingEntriesPerUid: number;
  requestTimeout: number;
}

const MIB = 1 << 20;
const L = DEFAULT_LIMITS;

const collect =
  <T>(parse: (v: string) => T) =>
  (v: string, prev: T[] = []): T[] => [...prev, parse(v)];

/** --group: a name from /etc/group or a number */
function groupArg(v: string): number {
  if (/^\d+$/.test(v)) return intArg('--group', 0, 0xfffffffe)(v);
  const line = fs.readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[0] === v);
  if (line === undefined) throw new InvalidArgumentError(`--group: no group named ${JSON.stringify(v)} in /etc/group (create it with groupadd, or give a gid)`);
  return Number(line.split(':')[2]);
}

function modeArg(v: string): number {
  if (!/^0?[0-7]{3}$/.test(v)) throw new InvalidArgumentError('--mode must be an octal file mode like 0660');
  const m = parseInt(v, 8);
  if (m & 0o007) throw new InvalidArgumentError('--mode must not give "other" users access (e.g. 0660 or 0600): the allow lists are the second gate, not the only one');
  return m;
}

export function registerServe(program: Command, ctx: () => CliContext): void {
  program
    .command('serve')
    .description('the broker: open AF_XDP queues for unprivileged processes (afxdp latency --broker, open({ broker })) and pass them the sockets; runs until Ctrl-C / SIGTERM')
    .requiredOption('--socket <path>', 'Unix socket to listen on (e.g. /run/afxdp/broker.sock)')
    .option('--allow-uid <uid>', 'a uid that may open queues (repeatable; root always may)', collect(intArg('--allow-uid', 0, 0xfffffffe)), [])
    .option('--allow-gid <gid>', 'a primary gid whose processes may open queues (repeatable)', collect(intArg('--allow-gid', 0, 0xfffffffe)), [])
    .option('--iface <name>', 'serve only this interface (repeatable; default: every interface of this network namespace)', collect(ifnameArg), [])
    .option('--group <name|gid>', 'group of the socket file (its members can connect; the allow lists still decide)', groupArg)
    .option('--mode <octal>', 'mode of the socket file', modeArg, 0o660)
    .option('--max-ring-size <n>', `largest RX/fill/TX ring a client may ask for (a power of two, at most ${RING_SIZE_MAX})`, optionArg('--max-ring-size', 'ringSize'), L.ringSize)
    .option('--max-frame-count <n>', `most UMEM frames per socket (at most ${FRAME_COUNT_MAX})`, optionArg('--max-frame-count', 'frameCount'), L.frameCount)
    .option('--max-connections <n>', 'connections open at once, all clients', intArg('--max-connections', 1, 65536), L.connections)
    .option('--max-connections-per-uid <n>', 'connections open at once per uid', intArg('--max-connections-per-uid', 1, 65536), L.connectionsPerUid)
    .option('--max-queues-per-uid <n>', 'queues held at once per uid', intArg('--max-queues-per-uid', 1, 4096), L.queuesPerUid)
    .option('--max-umem-per-uid <MiB>', 'UMEM held at once per uid (pinned memory charged to the broker)', intArg('--max-umem-per-uid', 1, 1 << 20), L.umemPerUid / MIB)
    .option('--max-umem <MiB>', 'UMEM held at once, all clients', intArg('--max-umem', 1, 1 << 20), L.umem / MIB)
    .option('--max-ring-entries-per-uid <n>', 'ring entries (RX, fill, TX, completion; kernel memory, ≤ 16 bytes each) held at once per uid', intArg('--max-ring-entries-per-uid', 1, 1 << 30), L.ringEntriesPerUid)
    .option('--request-timeout <s>', 'close a connection that sends no request within this many seconds', numArg('--request-timeout', 0.1, 60), L.requestTimeoutMs / 1000)
    .addHelpText(
      'after',
      '\nA client is allowed when its uid is in --allow-uid, its primary gid in --allow-gid, or it is root (the kernel says who\n' +
        'connected: SO_PEERCRED). One client per queue; clients of one interface share its program (same options). A client\n' +
        'holds its queues while it is connected; when the last client of an interface goes (exit, crash or SIGKILL) the\n' +
        'program is detached. docs/BROKER.md has the protocol and the threat model;\n' +
        'examples/afxdp-broker.service is a systemd unit.\n\n' +
        'Example:\n  afxdp serve --socket /run/afxdp/broker.sock --group afxdp --allow-uid 1000 --iface eth0\n',
    )
    .action(async (o: ServeFlags) => {
      const c = ctx();
      requireCaps('afxdp serve', PROBE_NEEDS);
      const limits: BrokerLimits = {
        ringSize: o.maxRingSize,
        frameCount: o.maxFrameCount,
        connections: o.maxConnections,
        connectionsPerUid: o.maxConnectionsPerUid,
        queuesPerUid: o.maxQueuesPerUid,
        umemPerUid: o.maxUmemPerUid * MIB,
        umem: o.maxUmem * MIB,
        ringEntriesPerUid: o.maxRingEntriesPerUid,
        requestTimeoutMs: Math.round(o.requestTimeout * 1000),
      };
      const broker = Broker.listen({ socket: o.socket, allowUids: o.allowUid, allowGids: o.allowGid, ifaces: o.iface, group: o.group, mode: o.mode, log: note, limits });
      const who = [...o.allowUid.map((u) => `uid ${u}`), ...o.allowGid.map((g) => `gid ${g}`)];
      note(`broker listening on ${o.socket} (mode ${o.mode.toString(8).padStart(4, '0')}${o.group !== undefined ? `, group ${o.group}` : ''}; allowed: root${who.length ? `, ${who.join(', ')}` : ' only'}; interfaces: ${o.iface.length ? o.iface.join(', ') : 'any'})`);
      await new Promise<void>((resolve) => {
        if (c.signal.aborted) resolve();
        c.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      broker.close();
    });
}
