/**
 * The broker's wire (docs/BROKER.md): one JSON message per SOCK_SEQPACKET record on a Unix socket,
 * file descriptors attached with SCM_RIGHTS. Both ends use this module: the client side
 * (rx/receiver.ts, synchronous, because opening a receiver is) and the broker (run/serve.ts).
 */
import { native } from '../native.js';
import { AfxdpError, isNativeError, type AfxdpErrorCode } from '../errors.js';

/** The protocol version this afxdp speaks. A message with another one is refused with one line. */
export const BROKER_PROTOCOL = 1;
/** The largest message either side sends or accepts */
export const MAX_MESSAGE = 64 * 1024;
const MAX_FDS = 64;
/** how long a client waits for the broker's answer: it loads a program and maps a UMEM meanwhile */
const ANSWER_TIMEOUT_MS = 30_000;
const EAGAIN = 11;

/** The one request: open these queues of this interface for me. */
export interface OpenRequest {
  version: number;
  op: 'open';
  ifname: string;
  queues: readonly number[] | 'all';
  /** the receiver options the broker applies (BROKERED_OPTIONS) */
  options: Record<string, unknown>;
}

/** What the broker made for one queue; its fds travel as [xsk, umem] in the order of `sockets`. */
export interface GrantedSocket {
  queue: number;
  /** frames the broker put on the fill ring before bind: frames 0..filled-1 */
  filled: number;
  bindMode: 'copy' | 'zerocopy';
}

/** The answer to an open: the fds follow as sockets' [xsk, umem] pairs, then counters, then stamps. */
export interface Grant {
  ifindex: number;
  queues: number[];
  frameCount: number;
  ringSize: number;
  txRingSize: number;
  txMetadataLen: number;
  cookie: number;
  hints: boolean;
  hintsOff: string | null;
  programPath: string;
  programName: string;
  mode: 'native' | 'generic';
  replaced: { name: string; id: number } | null;
  /** a counters map fd follows the socket fds */
  hasCounters: boolean;
  /** a stamps map fd follows (strategy auto or map with afxdp's program) */
  mapInUse: boolean;
  sockets: GrantedSocket[];
}

export interface Answer {
  version: number;
  ok: boolean;
  grant?: Grant;
  error?: { code: AfxdpErrorCode; message: string; hint?: string };
}

/** Receiver options a client may ask the broker for; everything else stays on the client's side or is refused. */
export const BROKERED_OPTIONS = ['mode', 'bind', 'clock', 'match', 'udpPort', 'strategy', 'simulateNoMeta', 'hints', 'frameCount', 'ringSize', 'txRingSize', 'txMetadataLen'] as const;

// reused by every receive (synchronous, decoded before the next one): a client's liveness check allocates nothing
const inBuf = new Uint8Array(MAX_MESSAGE);
const inFds = new Int32Array(MAX_FDS);

/** Sends one message with fds attached; false when the peer is gone. */
export function sendMessage(fd: number, msg: unknown, fds: readonly number[] = []): boolean {
  const bytes = new TextEncoder().encode(JSON.stringify(msg));
  if (bytes.length > MAX_MESSAGE) throw new AfxdpError('ESTATE', `a broker message of ${bytes.length} bytes is too large`);
  return native().sendFds(fd, bytes, Int32Array.from(fds)) === 0;
}

/**
 * One message, waiting up to timeoutMs (0: only what is there now). Returns null when nothing came
 * in time, 'closed' when the peer closed, else the parsed message and its fds (the caller's to close).
 */
export function receiveMessage(fd: number, timeoutMs: number): { msg: unknown; fds: number[] } | 'closed' | null {
  const buf = inBuf;
  const fdsOut = inFds;
  const r = native().recvFds(fd, buf, fdsOut, timeoutMs);
  if (r.bytes === -EAGAIN) return null;
  if (r.bytes === 0) return 'closed';
  if (r.bytes < 0) throw new AfxdpError('ESYS', `cannot read from the broker socket: errno ${-r.bytes}`, { errno: -r.bytes });
  const fds = Array.from(fdsOut.subarray(0, r.fds));
  try {
    return { msg: JSON.parse(new TextDecoder().decode(buf.subarray(0, r.bytes))) as unknown, fds };
  } catch {
    for (const f of fds) native().close(f);
    return { msg: null, fds: [] };
  }
}

/** Is the other end still there? (A non-blocking look, a few times per second; never per packet.) */
export function peerGone(fd: number): boolean {
  return receiveMessage(fd, 0) === 'closed';
}

/** The one line for an unknown protocol version, from either side. */
export function versionError(theirs: unknown, who: 'broker' | 'client'): AfxdpError {
  return new AfxdpError('EBROKER', `the ${who} speaks afxdp broker protocol version ${JSON.stringify(theirs)}, this ${who === 'broker' ? 'client' : 'broker'} speaks ${BROKER_PROTOCOL}`, {
    hint: 'run the same afxdp version for the broker (afxdp serve) and its clients',
  });
}

/**
 * Client side: connects, sends the open request and waits for the answer. Returns the grant, its
 * fds and the connection (held for as long as the queues are: closing it gives them back).
 */
export function requestQueues(path: string, req: Omit<OpenRequest, 'version' | 'op'>): { grant: Grant; fds: number[]; conn: number } {
  const n = native();
  let conn: number;
  try {
    conn = n.unixConnect(path);
  } catch (e) {
    throw connectError(path, e);
  }
  const fds: number[] = [];
  try {
    if (!sendMessage(conn, { version: BROKER_PROTOCOL, op: 'open', ...req } satisfies OpenRequest)) throw brokerGone(path);
    const got = receiveMessage(conn, ANSWER_TIMEOUT_MS);
    if (got === null) throw new AfxdpError('EBROKER', `the broker at ${path} did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`, { hint: 'check the broker (afxdp serve) is running and not stuck; its log says what it is doing' });
    if (got === 'closed') throw brokerGone(path);
    fds.push(...got.fds);
    const a = got.msg as Answer | null;
    if (a === null || typeof a !== 'object') throw new AfxdpError('EBROKER', `the broker at ${path} sent something that is not an afxdp broker answer`, { hint: 'check that the path is an afxdp serve socket' });
    if (a.version !== BROKER_PROTOCOL) throw versionError(a.version, 'broker');
    if (!a.ok || !a.grant) {
      const e = a.error ?? { code: 'EBROKER' as const, message: 'the broker refused without saying why' };
      throw new AfxdpError(e.code, `broker ${path}: ${e.message}`, { hint: e.hint });
    }
    const g = a.grant;
    const want = 2 * g.sockets.length + (g.hasCounters ? 1 : 0) + (g.mapInUse ? 1 : 0);
    if (fds.length !== want) throw new AfxdpError('EBROKER', `the broker at ${path} passed ${fds.length} file descriptors, ${want} expected`, { hint: 'run the same afxdp version for the broker and its clients' });
    return { grant: g, fds, conn };
  } catch (e) {
    for (const f of fds) n.close(f);
    n.close(conn);
    throw e;
  }
}

function brokerGone(path: string): AfxdpError {
  return new AfxdpError('EBROKER', `the broker at ${path} closed the connection before answering`, { hint: 'it may have stopped or crashed: check its log (journalctl -u afxdp-broker) and start it again' });
}

function connectError(path: string, e: unknown): AfxdpError {
  const errno = isNativeError(e) ? e.errno : undefined;
  if (errno === 2 || errno === 111) {
    return new AfxdpError('EBROKER', `no afxdp broker is running at ${path} (${errno === 2 ? 'no such socket' : 'connection refused'})`, {
      errno,
      hint: `start one as root: afxdp serve --socket ${path} --allow-uid ${process.getuid?.() ?? 'UID'}`,
    });
  }
  if (errno === 13 || errno === 1) {
    return new AfxdpError('EBROKER', `permission denied on the broker socket ${path}`, {
      errno,
      hint: 'its mode is 0660: join the broker\'s group (afxdp serve --group NAME) or ask its admin to allow you',
    });
  }
  return new AfxdpError('EBROKER', `cannot connect to the broker at ${path}: ${(e as Error).message}`, { errno, hint: 'check the path of the broker socket (afxdp serve --socket)' });
}
