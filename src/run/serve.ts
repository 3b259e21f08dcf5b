/**
 * The broker (`afxdp serve`, docs/BROKER.md): a privileged process that opens queues for
 * unprivileged clients. Each client connects to a Unix socket; the kernel says who it is
 * (SO_PEERCRED); an allowed client's open request runs the one setup path
 * (LatencyReceiver.openForClient: program, sockets over a shared UMEM, XSKMAP, attach) and the
 * broker passes the fds (SCM_RIGHTS). The connection is the hold: when it closes — the client
 * closed, exited, crashed or was SIGKILLed — the broker detaches and frees the queues at once.
 * Several clients may hold different queues of one interface when they ask for the same program
 * options (the program is per interface): the first one's receiver loads and attaches it, the
 * others' join it, and it is detached when the last of them goes. Event-driven on Node's loop
 * (uv_poll on the listening and the client sockets).
 */
import fs from 'node:fs';
import { native, type PollHandle } from '../native.js';
import { AfxdpError, isNativeError } from '../errors.js';
import { LatencyReceiver, type ReceiverOptions } from '../rx/receiver.js';
import { MAX_QUEUES, quote } from '../rx/bounds.js';
import { rxQueueCount } from '../rx/options.js';
import { withNetns } from '../sys/netns.js';
import { sendMessage, receiveMessage, BROKER_PROTOCOL, type Answer } from '../sys/broker-wire.js';
import { checkEnvelope, checkRequest, checkLimits, checkCost, costOf, LIMIT_FLAGS, type BrokerLimits, type Cost } from './broker-limits.js';

export interface BrokerOptions {
  /** path of the Unix socket to listen on */
  socket: string;
  /** uids allowed to open queues (root always is) */
  allowUids?: readonly number[];
  /** primary gids allowed to open queues */
  allowGids?: readonly number[];
  /** interfaces clients may ask for; default: any interface of the served network namespace */
  ifaces?: readonly string[];
  /** fd of the network namespace whose interfaces are served; default: the broker's own */
  netnsFd?: number;
  /** group of the socket file (its members may connect); default: the broker's own group */
  group?: number;
  /** mode of the socket file; default 0o660 */
  mode?: number;
  /** one line per event (a client came, was refused, got queues, went); at most LOG_MAX characters */
  log?: (line: string) => void;
  /** what one client and one uid may take (docs/BROKER.md "Limits"); unset ones are DEFAULT_LIMITS */
  limits?: Partial<BrokerLimits>;
}

/** A connected client: who the kernel says it is, and the queues it holds (one open per connection). */
interface Client {
  fd: number;
  pid: number;
  uid: number;
  gid: number;
  watch: PollHandle;
  rx: LatencyReceiver | null;
  /** when it connected (ms, monotonic): it must ask before limits.requestTimeoutMs */
  since: number;
  /** what its hold takes (null: none) */
  cost: Cost | null;
}

/** One interface in use: the program its first client's receiver attached, and everyone using it. */
interface Attached {
  /** the receiver that loaded and attached the program (its sockets go when its client goes; the program when the last user goes) */
  owner: LatencyReceiver;
  /** the program options every client of this interface asked for */
  program: string;
  users: Set<Client>;
}

/** The options that make the program: clients of one interface must agree on them. */
const PROGRAM_OPTIONS = ['mode', 'clock', 'match', 'udpPort', 'strategy', 'simulateNoMeta', 'hints'] as const;

const BACKLOG = 16;
const EAGAIN = 11;
const EMFILE = 24;
const ENFILE = 23;
/** how long accepting pauses when the broker is out of fds */
const ACCEPT_PAUSE_MS = 200;
/** the longest log line: a client's request never makes a longer one */
export const LOG_MAX = 300;
/** a grant carries 2 fds per queue and 2 map fds, at most 64 (native/unix.c MAX_FDS) */
const MAX_GRANT_QUEUES = 31;
/** a uid over its connection limit is logged at most once per this many ms */
const LIMIT_LOG_MS = 10_000;
const NO_COST: Cost = { queues: 0, umem: 0, ringEntries: 0 };

export class Broker {
  readonly path: string;
  private readonly o: BrokerOptions;
  private readonly listenFd: number;
  private watch: PollHandle | null;
  /** set while accepting is paused (out of fds) */
  private resume: NodeJS.Timeout | null = null;
  private readonly clients = new Set<Client>();
  /** interface → its program and the clients holding queues of it */
  private readonly attached = new Map<string, Attached>();
  private closed = false;
  readonly limits: BrokerLimits;
  /** closes connections that sent no request in time */
  private readonly sweeper: NodeJS.Timeout;
  /** uid → when its connection limit was last logged */
  private readonly limitLogged = new Map<number, number>();

  private constructor(o: BrokerOptions, listenFd: number, limits: BrokerLimits) {
    this.o = o;
    this.path = o.socket;
    this.listenFd = listenFd;
    this.limits = limits;
    this.watch = native().pollStart(listenFd, () => this.accept());
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, Math.max(50, limits.requestTimeoutMs / 4)));
    this.sweeper.unref();
  }

  /** Listens on `socket` (a stale socket file of a dead broker is replaced; a live one is an error). */
  static listen(o: BrokerOptions): Broker {
    for (const [what, list] of [['allowUids', o.allowUids], ['allowGids', o.allowGids]] as const) {
      for (const id of list ?? []) if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new AfxdpError('EUSAGE', `${what}: ${id} is not a uid/gid`, { hint: 'use numbers 0..4294967294' });
    }
    const limits = checkLimits(o.limits ?? {});
    const mode = o.mode ?? 0o660;
    removeStale(o.socket);
    let fd: number;
    try {
      fd = native().unixListen(o.socket, BACKLOG);
    } catch (e) {
      const errno = isNativeError(e) ? e.errno : undefined;
      throw new AfxdpError('ESYS', `cannot listen on ${o.socket}: ${(e as Error).message}`, {
        errno,
        hint: errno === 2 ? 'create its directory first (the systemd unit uses RuntimeDirectory=afxdp)' : 'check the directory exists and is writable by the broker',
      });
    }
    try {
      // the file was created 0600: give it its mode and group before anyone can be accepted
      if (o.group !== undefined) fs.chownSync(o.socket, process.getuid?.() ?? 0, o.group);
      fs.chmodSync(o.socket, mode);
    } catch (e) {
      native().close(fd);
      fs.rmSync(o.socket, { force: true });
      throw new AfxdpError('ESYS', `cannot set the owner or mode of ${o.socket}: ${(e as Error).message}`, { hint: 'check the group exists' });
    }
    return new Broker(o, fd, limits);
  }

  /** Clients connected now, and the interfaces they hold (for logs and tests). */
  get held(): Array<{ pid: number; uid: number; ifname: string; queues: readonly number[] }> {
    return [...this.attached].flatMap(([ifname, a]) => [...a.users].map((c) => ({ pid: c.pid, uid: c.uid, ifname, queues: c.rx?.queues ?? [] })));
  }

  /** Detaches everything, disconnects every client, removes the socket file. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    if (this.resume !== null) clearTimeout(this.resume);
    if (this.watch !== null) native().pollStop(this.watch);
    for (const c of [...this.clients]) this.drop(c, 'the broker stops');
    native().close(this.listenFd);
    fs.rmSync(this.path, { force: true });
  }

  private log(line: string): void {
    this.o.log?.(line.length > LOG_MAX ? `${line.slice(0, LOG_MAX - 1)}…` : line);
  }

  /** What a uid holds now, and its connections. */
  private heldBy(uid: number): { cost: Cost; connections: number } {
    const cost = { ...NO_COST };
    let connections = 0;
    for (const c of this.clients) {
      if (c.uid !== uid) continue;
      connections++;
      if (c.cost === null) continue;
      cost.queues += c.cost.queues;
      cost.umem += c.cost.umem;
      cost.ringEntries += c.cost.ringEntries;
    }
    return { cost, connections };
  }

  private totalUmem(): number {
    let n = 0;
    for (const c of this.clients) n += c.cost?.umem ?? 0;
    return n;
  }

  /** A refusal to a client, one line, and its connection closed. */
  private refuse(c: Client, err: AfxdpError): void {
    this.log(`client pid ${c.pid} uid ${c.uid}: refused: ${err.message}`);
    sendMessage(c.fd, { version: BROKER_PROTOCOL, ok: false, error: { code: err.code, message: err.message, hint: err.hint } } satisfies Answer);
    // a refused client keeps nothing: its connection ends here
    this.drop(c, null);
  }

  /** Closes the connections that have not asked within limits.requestTimeoutMs. */
  private sweep(): void {
    const now = performance.now();
    const t = this.limits.requestTimeoutMs;
    for (const [uid, at] of this.limitLogged) if (now - at > LIMIT_LOG_MS) this.limitLogged.delete(uid);
    for (const c of [...this.clients]) {
      if (c.rx === null && now - c.since > t) {
        this.refuse(c, new AfxdpError('EBROKER', `no request within ${t / 1000} s of connecting`, { hint: `send the open request at once (the broker's ${LIMIT_FLAGS.requestTimeoutMs} sets the deadline)` }));
      }
    }
  }

  /** A connection over a connection limit: refused at once (the answer waits in its socket for its first read). */
  private overConnectionLimit(c: Client): AfxdpError | null {
    const l = this.limits;
    if (this.clients.size >= l.connections) {
      return new AfxdpError('EBUSY', `the broker has ${this.clients.size} connections open, its limit`, { hint: `try again later, or have the broker's ${LIMIT_FLAGS.connections} raised` });
    }
    const mine = this.heldBy(c.uid).connections;
    if (mine >= l.connectionsPerUid) {
      return new AfxdpError('EBUSY', `uid ${c.uid} has ${mine} connections open to the broker, its limit per uid`, { hint: `close one (each connection holds its queues), or have the broker's ${LIMIT_FLAGS.connectionsPerUid} raised` });
    }
    return null;
  }

  private accept(): void {
    for (;;) {
      const fd = native().unixAccept(this.listenFd);
      if (fd < 0) {
        if (fd === -EAGAIN) return;
        this.log(`accept failed: errno ${-fd}`);
        // out of fds (EMFILE, ENFILE): the pending connection keeps the socket readable, so a
        // level-triggered poll would spin; stop looking for a while instead
        if ((fd === -EMFILE || fd === -ENFILE) && this.watch !== null) {
          native().pollStop(this.watch);
          this.watch = null;
          this.resume = setTimeout(() => {
            this.resume = null;
            if (!this.closed) this.watch = native().pollStart(this.listenFd, () => this.accept());
          }, ACCEPT_PAUSE_MS);
        }
        return;
      }
      let cred: { pid: number; uid: number; gid: number };
      try {
        cred = native().peerCred(fd);
      } catch {
        native().close(fd);
        continue;
      }
      const c: Client = { fd, ...cred, rx: null, watch: null as unknown as PollHandle, since: performance.now(), cost: null };
      const over = this.overConnectionLimit(c);
      if (over !== null) {
        sendMessage(fd, { version: BROKER_PROTOCOL, ok: false, error: { code: over.code, message: over.message, hint: over.hint } } satisfies Answer);
        native().close(fd);
        const last = this.limitLogged.get(c.uid);
        if (last === undefined || performance.now() - last > LIMIT_LOG_MS) {
          this.limitLogged.set(c.uid, performance.now());
          this.log(`client pid ${c.pid} uid ${c.uid}: refused: ${over.message} (more such refusals of uid ${c.uid} are not logged for ${LIMIT_LOG_MS / 1000} s)`);
        }
        continue;
      }
      c.watch = native().pollStart(fd, () => this.readable(c));
      this.clients.add(c);
    }
  }

  private allowed(c: Client): boolean {
    return c.uid === 0 || (this.o.allowUids ?? []).includes(c.uid) || (this.o.allowGids ?? []).includes(c.gid);
  }

  private readable(c: Client): void {
    let got: ReturnType<typeof receiveMessage>;
    try {
      got = receiveMessage(c.fd, 0);
    } catch {
      got = 'closed';
    }
    if (got === null) return;
    if (got === 'closed') return this.drop(c, 'closed the connection');
    for (const f of got.fds) native().close(f); // a client has nothing to pass
    const who = `client pid ${c.pid} uid ${c.uid}`;
    try {
      if (got.repeated !== undefined) throw new AfxdpError('EUSAGE', `the request has the key ${quote(got.repeated)} twice in one object`, { hint: 'send each field once' });
      if (got.bad !== undefined) throw new AfxdpError('EBROKER', `the request is not an afxdp broker message: ${got.bad}`, { hint: 'clients talk to the broker through afxdp (open({ broker }) or --broker)' });
      const grant = this.open(c, got.msg);
      if (!sendMessage(c.fd, { version: BROKER_PROTOCOL, ok: true, grant: grant.grant } satisfies Answer, grant.fds)) return this.drop(c, 'went away before the answer');
      this.log(`${who}: ${grant.grant.queues.length > 1 ? 'queues' : 'queue'} ${grant.grant.queues.join(',')} of ${c.rx!.ifname} (XDP ${grant.grant.mode}, AF_XDP ${grant.grant.sockets[0]?.bindMode}, strategy ${c.rx!.strategy}${grant.grant.sg ? ', multi-buffer' : ''}${grant.grant.busyPoll ? `, busy poll ${grant.grant.busyPoll} µs` : ''})`);
    } catch (e) {
      // a message of our own making only (a native error's text may carry anything): one line
      const err = e instanceof AfxdpError ? e : new AfxdpError('ESTATE', `the broker failed: ${String((e as Error).message).split('\n')[0]}`);
      this.refuse(c, err);
    }
  }

  /** Checks the request and runs the setup for the client; throws the one line it gets back. */
  private open(c: Client, msg: unknown): { grant: NonNullable<Answer['grant']>; fds: number[] } {
    const env = checkEnvelope(msg);
    if (!this.allowed(c)) {
      throw new AfxdpError('EPERM', `uid ${c.uid} is not allowed to open queues on this broker`, { hint: `ask its admin to add --allow-uid ${c.uid} (or your group with --allow-gid) to afxdp serve` });
    }
    if (c.rx !== null) throw new AfxdpError('EBROKER', 'this connection holds queues already', { hint: 'open once per connection' });
    const r = checkRequest(env, this.limits);
    const ifaces = this.o.ifaces ?? [];
    if (ifaces.length > 0 && !ifaces.includes(r.ifname)) throw new AfxdpError('EPERM', `interface ${r.ifname} is not served by this broker`, { hint: `it serves ${ifaces.join(', ')}` });
    const options = r.options;
    // what it takes, bounded before anything is made ('all': the driver's count, as the setup will see it)
    const count = r.queues === 'all' ? this.queueCount(r.ifname) : r.queues.length;
    if (count > MAX_GRANT_QUEUES) throw new AfxdpError('EUSAGE', `${count} queues in one request: a grant carries the fds of at most ${MAX_GRANT_QUEUES}`, { hint: 'ask for fewer queues per connection' });
    const cost = costOf(options, count);
    checkCost(c.uid, cost, this.heldBy(c.uid).cost, this.totalUmem(), this.limits);
    const program = JSON.stringify(PROGRAM_OPTIONS.map((k) => options[k]));
    const a = this.attached.get(r.ifname);
    if (a !== undefined) {
      for (const u of a.users) {
        const asked = r.queues === 'all' ? u.rx!.queues : r.queues;
        const taken = asked.filter((q) => u.rx!.queues.includes(q));
        if (taken.length > 0) throw new AfxdpError('EBUSY', `queue ${taken.join(',')} of ${r.ifname} is held by another client (pid ${u.pid}, uid ${u.uid})`, { hint: 'wait until it ends, or ask for another queue' });
      }
      if (program !== a.program) {
        const theirs = JSON.parse(a.program) as unknown[];
        const differ = PROGRAM_OPTIONS.flatMap((k, i) => (JSON.stringify(options[k]) === JSON.stringify(theirs[i]) ? [] : [`${k} ${JSON.stringify(theirs[i])}`]));
        throw new AfxdpError('EBUSY', `${r.ifname} is in use by other clients whose program differs (${differ.join(', ')}): one program per interface`, { hint: 'ask with the same options, or wait until they end' });
      }
    }
    const opts: ReceiverOptions = { ...(options as Partial<ReceiverOptions>), ifname: r.ifname, queues: r.queues, netnsFd: this.o.netnsFd };
    c.rx = a === undefined ? LatencyReceiver.openForClient(opts) : LatencyReceiver.openForClient(opts, a.owner);
    c.cost = cost;
    if (a === undefined) this.attached.set(r.ifname, { owner: c.rx, program, users: new Set([c]) });
    else a.users.add(c);
    try {
      return c.rx.handover();
    } catch (e) {
      this.release(c);
      throw e;
    }
  }

  /**
   * Closes the client's sockets (its copies stay open but receive nothing) and, when it was the
   * interface's last user, detaches the program. Returns whether it was detached.
   */
  private release(c: Client): boolean {
    const rx = c.rx;
    if (rx === null) return false;
    c.rx = null;
    c.cost = null;
    const a = this.attached.get(rx.ifname);
    if (a === undefined || !a.users.delete(c)) {
      rx.close();
      return true;
    }
    // the owner's receiver keeps the program for the others; a joiner's owns no program
    if (rx === a.owner) rx.releaseSockets();
    else rx.close();
    if (a.users.size > 0) return false;
    a.owner.close();
    this.attached.delete(rx.ifname);
    return true;
  }

  /** RX queues of an interface of the served namespace (1 when the driver does not say). */
  private queueCount(ifname: string): number {
    try {
      return Math.min(withNetns(this.o.netnsFd, () => rxQueueCount(ifname)) ?? 1, MAX_QUEUES);
    } catch {
      return 1;
    }
  }

  private drop(c: Client, why: string | null): void {
    if (!this.clients.delete(c)) return;
    const had = c.rx !== null ? `${c.rx.ifname} queue ${c.rx.queues.join(',')}` : null;
    const detached = this.release(c);
    native().pollStop(c.watch);
    native().close(c.fd);
    if (why !== null) this.log(`client pid ${c.pid} uid ${c.uid} ${why}${had ? `: ${had} released${detached ? ', program detached' : ', the program stays for the other clients'}` : ''}`);
  }
}

/** A socket file left by a broker that died is removed; a live broker or a file that is not a socket is an error. */
function removeStale(path: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new AfxdpError('EUSAGE', `${path} exists and is not a socket`, { hint: 'choose another --socket path; afxdp does not remove other files' });
  let fd = -1;
  try {
    fd = native().unixConnect(path);
  } catch {
    fs.rmSync(path, { force: true }); // nobody listens: a dead broker's
    return;
  }
  native().close(fd);
  throw new AfxdpError('EBUSY', `a broker is already listening on ${path}`, { hint: 'stop it first, or use another --socket path' });
}
