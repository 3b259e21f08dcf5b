/**
 * The receiver's two broker roles (docs/BROKER.md). The broker's side (`afxdp serve`, privileged)
 * makes each client's sockets over a shared UMEM without receiving on them, and hands over the
 * grant and its fds. The client's side (no capability) asks the broker for its queues, maps what
 * the grant describes and adopts the passed sockets, rings and UMEM as the broker left them.
 */
import { XskSocket, busyPollOf, type BusyPollSettings, type AdoptedSocket } from '../xsk/socket.js';
import { requestQueues, BROKERED_OPTIONS, type Grant } from '../sys/broker-wire.js';
import type { XdpMode } from '../xdp/program.js';
import { DEFAULT_FRAME_SIZE, socketOptionsOf, type Resolved } from './options.js';
import type { ProgramInUse } from './program-setup.js';
import type { ReceiveQueue } from './queue.js';

/** A broker's answer as the client holds it: fds not yet adopted are ≥ 0; `conn` holds the queues. */
export interface Brokered {
  grant: Grant;
  fds: number[];
  conn: number;
  path: string;
}

/** Client side: asks the broker at o.broker for the queues; the broker's numbers decide the shapes the client maps. */
export function requestGrant(o: Resolved): { shaped: Resolved; brokered: Brokered } {
  const options: Record<string, unknown> = {};
  for (const k of BROKERED_OPTIONS) options[k] = o[k];
  const { grant, fds, conn } = requestQueues(o.broker!, { ifname: o.ifname, queues: o.queues, options });
  const shaped: Resolved = { ...o, frameCount: grant.frameCount, ringSize: grant.ringSize, txRingSize: grant.txRingSize, txMetadataLen: grant.txMetadataLen, frameSize: grant.frameSize ?? DEFAULT_FRAME_SIZE };
  return { shaped, brokered: { grant, fds, conn, path: o.broker! } };
}

/** Client side: the broker's socket of queue index i, to adopt (its fds then belong to the socket). */
export function adoption(h: Brokered | null, i: number): AdoptedSocket | null {
  if (h === null) return null;
  const s = h.grant.sockets[i]!;
  const a = { fd: h.fds[2 * i]!, umemFd: h.fds[2 * i + 1]!, filled: s.filled, bindMode: s.bindMode };
  h.fds[2 * i] = h.fds[2 * i + 1] = -1;
  return a;
}

/**
 * Broker side: the queue's socket over a memfd UMEM, its fill ring filled, bound; the client
 * receives on it. Returns the busy polling the kernel took when it was set here.
 */
export function socketForClient(o: Resolved, ifindex: number, sg: boolean, rq: ReceiveQueue, made: XskSocket[]): BusyPollSettings | null {
  const socket = XskSocket.create({ ...socketOptionsOf(o, ifindex, sg, rq.queue), shared: true });
  made.push(socket);
  rq.fd = socket.fd;
  rq.bindMode = socket.bindMode;
  // SO_BUSY_POLL needs CAP_NET_ADMIN, which the broker has and its client has not: set here, on the shared socket
  if (o.busyPoll <= 0) return null;
  socket.setBusyPoll(o.busyPoll);
  return busyPollOf(socket.fd, o.batchSize);
}

/** What a broker receiver knows that goes into its client's grant. */
export interface GrantSource {
  o: Resolved;
  ifindex: number;
  queues: readonly number[];
  cookie: number;
  program: ProgramInUse;
  mode: XdpMode;
  replaced: Grant['replaced'];
  sockets: readonly XskSocket[];
  sg: boolean;
  mtu: number;
  busyPoll: BusyPollSettings | null;
}

/**
 * Broker side: what the client needs — the grant and its fds in the order docs/BROKER.md gives
 * (each socket's AF_XDP and UMEM fds, then the counters map, then the stamps map). The fds stay
 * the broker's; sending dups them into the client.
 */
export function grantOf(r: GrantSource): { grant: Grant; fds: number[] } {
  const { o, program: p } = r;
  const fds: number[] = [];
  for (const s of r.sockets) fds.push(s.fd, s.umem.fd);
  if (p.counters !== null) fds.push(p.obj!.mapFd('afxdp_counters'));
  if (p.mapInUse) fds.push(p.obj!.mapFd('afxdp_stamps'));
  const grant: Grant = {
    ifindex: r.ifindex,
    queues: [...r.queues],
    frameCount: o.frameCount,
    ringSize: o.ringSize,
    txRingSize: o.txRingSize,
    txMetadataLen: o.txMetadataLen,
    cookie: r.cookie,
    hints: p.hints,
    hintsOff: p.hintsOff,
    programPath: p.path,
    programName: p.name,
    mode: r.mode,
    replaced: r.replaced,
    hasCounters: p.counters !== null,
    mapInUse: p.mapInUse,
    sockets: r.sockets.map((s) => ({ queue: s.queue, filled: s.initialFill, bindMode: s.bindMode })),
    frameSize: o.frameSize,
    sg: r.sg,
    mtu: r.mtu,
    busyPoll: r.busyPoll?.usecs ?? 0,
  };
  return { grant, fds };
}
