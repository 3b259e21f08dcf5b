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
import { sendMessage, receiveMessage, versionError, BROKER_PROTOCOL, BROKERED_OPTIONS, type Answer, type OpenRequest } from '../sys/broker-wire.js';

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
  /** one line per event (a client came, was refused, got queues, went) */
  log?: (line: string) => void;
}

/** A connected client: who the kernel says it is, and the queues it holds (one open per connection). */
interface Client {
  fd: number;
  pid: number;
  uid: number;
  gid: number;
  watch: PollHandle;
  rx: LatencyReceiver | null;
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

export class Broker {
  readonly path: string;
  private readonly o: BrokerOptions;
  private readonly listenFd: number;
  private readonly watch: PollHandle;
  private readonly clients = new Set<Client>();
  /** interface → its program and the clients holding queues of it */
  private readonly attached = new Map<string, Attached>();
  private closed = false;

  private constructor(o: BrokerOptions, listenFd: number) {
    this.o = o;
    this.path = o.socket;
    this.listenFd = listenFd;
    this.watch = native().pollStart(listenFd, () => this.accept());
  }

  /** Listens on `socket` (a stale socket file of a dead broker is replaced; a live one is an error). */
  static listen(o: BrokerOptions): Broker {
    for (const [what, list] of [['allowUids', o.allowUids], ['allowGids', o.allowGids]] as const) {
      for (const id of list ?? []) if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new AfxdpError('EUSAGE', `${what}: ${id} is not a uid/gid`, { hint: 'use numbers 0..4294967294' });
    }
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
    return new Broker(o, fd);
  }

  /** Clients connected now, and the interfaces they hold (for logs and tests). */
  get held(): Array<{ pid: number; uid: number; ifname: string; queues: readonly number[] }> {
    return [...this.attached].flatMap(([ifname, a]) => [...a.users].map((c) => ({ pid: c.pid, uid: c.uid, ifname, queues: c.rx?.queues ?? [] })));
  }

  /** Detaches everything, disconnects every client, removes the socket file. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().pollStop(this.watch);
    for (const c of [...this.clients]) this.drop(c, 'the broker stops');
    native().close(this.listenFd);
    fs.rmSync(this.path, { force: true });
  }

  private log(line: string): void {
    this.o.log?.(line);
  }

  private accept(): void {
    for (;;) {
      const fd = native().unixAccept(this.listenFd);
      if (fd < 0) {
        if (fd !== -EAGAIN) this.log(`accept failed: errno ${-fd}`);
        return;
      }
      let cred: { pid: number; uid: number; gid: number };
      try {
        cred = native().peerCred(fd);
      } catch {
        native().close(fd);
        continue;
      }
      const c: Client = { fd, ...cred, rx: null, watch: null as unknown as PollHandle };
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
      const grant = this.open(c, got.msg);
      if (!sendMessage(c.fd, { version: BROKER_PROTOCOL, ok: true, grant: grant.grant } satisfies Answer, grant.fds)) return this.drop(c, 'went away before the answer');
      this.log(`${who}: ${grant.grant.queues.length > 1 ? 'queues' : 'queue'} ${grant.grant.queues.join(',')} of ${c.rx!.ifname} (XDP ${grant.grant.mode}, AF_XDP ${grant.grant.sockets[0]?.bindMode}, strategy ${c.rx!.strategy})`);
    } catch (e) {
      const err = e instanceof AfxdpError ? e : new AfxdpError('ESTATE', (e as Error).message);
      this.log(`${who}: refused: ${err.message}`);
      sendMessage(c.fd, { version: BROKER_PROTOCOL, ok: false, error: { code: err.code, message: err.message, hint: err.hint } } satisfies Answer);
      // a refused client keeps nothing: its connection ends here
      this.drop(c, null);
    }
  }

  /** Checks the request and runs the setup for the client; throws the one line it gets back. */
  private open(c: Client, msg: unknown): { grant: NonNullable<Answer['grant']>; fds: number[] } {
    const r = msg as Partial<OpenRequest> | null;
    if (r === null || typeof r !== 'object') throw new AfxdpError('EBROKER', 'the request is not an afxdp broker message', { hint: 'clients talk to the broker through afxdp (open({ broker }) or --broker)' });
    if (r.version !== BROKER_PROTOCOL) throw versionError(r.version, 'client');
    if (!this.allowed(c)) {
      throw new AfxdpError('EPERM', `uid ${c.uid} is not allowed to open queues on this broker`, { hint: `ask its admin to add --allow-uid ${c.uid} (or your group with --allow-gid) to afxdp serve` });
    }
    if (r.op !== 'open') throw new AfxdpError('EBROKER', `unknown request ${JSON.stringify(r.op)}`, { hint: 'this broker knows: open' });
    if (c.rx !== null) throw new AfxdpError('EBROKER', 'this connection holds queues already', { hint: 'open once per connection' });
    if (typeof r.ifname !== 'string') throw new AfxdpError('EUSAGE', 'the request names no interface');
    const ifaces = this.o.ifaces ?? [];
    if (ifaces.length > 0 && !ifaces.includes(r.ifname)) throw new AfxdpError('EPERM', `interface ${r.ifname} is not served by this broker`, { hint: `it serves ${ifaces.join(', ')}` });
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.options ?? {})) {
      if (!(BROKERED_OPTIONS as readonly string[]).includes(k)) throw new AfxdpError('EUSAGE', `option ${JSON.stringify(k)} cannot be asked of the broker`, { hint: `a client may ask for ${BROKERED_OPTIONS.join(', ')}` });
      options[k] = v;
    }
    const program = JSON.stringify(PROGRAM_OPTIONS.map((k) => options[k]));
    const a = this.attached.get(r.ifname);
    if (a !== undefined) {
      for (const u of a.users) {
        const asked = r.queues === 'all' ? u.rx!.queues : (r.queues ?? [0]);
        const taken = asked.filter((q) => u.rx!.queues.includes(q));
        if (taken.length > 0) throw new AfxdpError('EBUSY', `queue ${taken.join(',')} of ${r.ifname} is held by another client (pid ${u.pid}, uid ${u.uid})`, { hint: 'wait until it ends, or ask for another queue' });
      }
      if (program !== a.program) {
        const theirs = JSON.parse(a.program) as unknown[];
        const differ = PROGRAM_OPTIONS.flatMap((k, i) => (JSON.stringify(options[k]) === JSON.stringify(theirs[i]) ? [] : [`${k} ${JSON.stringify(theirs[i])}`]));
        throw new AfxdpError('EBUSY', `${r.ifname} is in use by other clients whose program differs (${differ.join(', ')}): one program per interface`, { hint: 'ask with the same options, or wait until they end' });
      }
    }
    const opts: ReceiverOptions = { ...(options as Partial<ReceiverOptions>), ifname: r.ifname, queues: r.queues ?? [0], netnsFd: this.o.netnsFd };
    c.rx = a === undefined ? LatencyReceiver.openForClient(opts) : LatencyReceiver.openForClient(opts, a.owner);
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
