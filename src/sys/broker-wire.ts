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
const EMSGSIZE = 90;
const ECONNRESET = 104;

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
  /** bytes per UMEM frame (absent from older brokers: 4096) */
  frameSize?: number;
  /** the sockets are bound with XDP_USE_SG: packets larger than a frame arrive as chains (absent: false) */
  sg?: boolean;
  /** the interface's MTU when the broker opened (absent: unknown) */
  mtu?: number;
  /** SO_BUSY_POLL µs the broker set on the sockets, with SO_PREFER_BUSY_POLL and the batch as budget (absent: 0) */
  busyPoll?: number;
}

export interface Answer {
  version: number;
  ok: boolean;
  grant?: Grant;
  error?: { code: AfxdpErrorCode; message: string; hint?: string };
}

/** Receiver options a client may ask the broker for; everything else stays on the client's side or is refused. */
export const BROKERED_OPTIONS = ['mode', 'bind', 'clock', 'match', 'udpPort', 'strategy', 'simulateNoMeta', 'hints', 'frameCount', 'frameSize', 'sg', 'ringSize', 'txRingSize', 'txMetadataLen', 'busyPoll'] as const;

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
 * in time, 'closed' when the peer closed, else the parsed message and its fds (the caller's to
 * close). A record that is not JSON, repeats a key of an object or is larger than MAX_MESSAGE
 * comes back as `msg: null` with `bad` saying which (and `repeated`, the key that appears twice).
 */
export function receiveMessage(fd: number, timeoutMs: number): { msg: unknown; fds: number[]; bad?: string; repeated?: string } | 'closed' | null {
  const buf = inBuf;
  const fdsOut = inFds;
  let r = native().recvFds(fd, buf, fdsOut, timeoutMs);
  // the peer closed with a message of ours unread: the kernel reports the reset first, once;
  // what the peer sent before closing (a broker's refusal) is still there to read
  if (r.bytes === -ECONNRESET) r = native().recvFds(fd, buf, fdsOut, 0);
  if (r.bytes === -EAGAIN) return null;
  if (r.bytes === 0) return 'closed';
  if (r.bytes === -EMSGSIZE) return { msg: null, fds: [], bad: `the message is larger than ${MAX_MESSAGE / 1024} KiB or carries more than ${MAX_FDS} file descriptors` };
  if (r.bytes < 0) throw new AfxdpError('ESYS', `cannot read from the broker socket: errno ${-r.bytes}`, { errno: -r.bytes });
  const fds = Array.from(fdsOut.subarray(0, r.fds));
  const text = new TextDecoder().decode(buf.subarray(0, r.bytes));
  let msg: unknown;
  try {
    msg = JSON.parse(text) as unknown;
  } catch {
    for (const f of fds) native().close(f);
    return { msg: null, fds: [], bad: 'not JSON' };
  }
  const dup = repeatedKey(text);
  if (dup !== null) return { msg: null, fds, bad: 'a key appears twice in one object', repeated: dup };
  return { msg, fds };
}

/**
 * The first key that appears twice in one object of a valid JSON text, else null. JSON.parse keeps
 * the last one silently, so two readers of one request could see different values; the broker
 * refuses such a request instead. (No npm JSON parser in our dependencies reports duplicates; this
 * scan of a text JSON.parse has accepted is a few lines.)
 */
export function repeatedKey(text: string): string | null {
  // per open container: its keys (objects) or null (arrays), and whether a key comes next
  const keys: Array<Set<string> | null> = [];
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = keys[keys.length - 1];
      if (keyNext && top) {
        const k = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(k)) return k;
        top.add(k);
        keyNext = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      keys.push(new Set());
      keyNext = true;
    } else if (c === 0x5b /* [ */) {
      keys.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      keys.pop();
    } else if (c === 0x2c /* , */) {
      keyNext = keys[keys.length - 1] != null;
    }
  }
  return null;
}

/** Is the other end still there? (A non-blocking look, a few times per second; never per packet.) */
export function peerGone(fd: number): boolean {
  return receiveMessage(fd, 0) === 'closed';
}

/** The one line for an unknown protocol version, from either side. */
export function versionError(theirs: unknown, who: 'broker' | 'client'): AfxdpError {
  const said = JSON.stringify(theirs) ?? 'none';
  return new AfxdpError('EBROKER', `the ${who} speaks afxdp broker protocol version ${said.length > 24 ? `${said.slice(0, 24)}…` : said}, this ${who === 'broker' ? 'client' : 'broker'} speaks ${BROKER_PROTOCOL}`, {
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
    // a broker over a connection limit answers and closes at once: the answer may wait even when the send fails
    const sent = sendMessage(conn, { version: BROKER_PROTOCOL, op: 'open', ...req } satisfies OpenRequest);
    const got = receiveMessage(conn, sent ? ANSWER_TIMEOUT_MS : 0);
    if (!sent && (got === null || got === 'closed')) throw brokerGone(path);
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
