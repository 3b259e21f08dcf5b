/**
 * The one way a test gets a lab: withLab() builds it, runs the test, destroys it and checks that
 * nothing of it is left (holders, links, named namespaces, an XDP program still attached to its
 * veth when the test ended). Leftovers are looked up by the lab's id: other runs may share the
 * machine. sendFrames()/openGenerator(): afxdp's generator from the lab's tx end to its rx end.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Lab, TrafficGenerator, type LabOptions, type GeneratorOptions } from '../../src/entry/lab.js';
import { trackLab } from './cli.js';
import { waitFor } from './wait.js';
import { attachedProgramId, stampCounters, type StampCounters } from './xdp.js';
import { runTool } from '../../src/sys/exec.js';

export interface WithLabOptions extends LabOptions {
  /** the test leaves an XDP program attached on purpose (destroying the lab removes it); default false */
  xdpMayStay?: boolean;
}

export async function withLab<T>(fn: (lab: Lab) => T | Promise<T>, opts: WithLabOptions = {}): Promise<T> {
  const { xdpMayStay, ...labOpts } = opts;
  const lab = await Lab.create(labOpts);
  trackLab(lab.id);
  let result: T;
  try {
    result = await fn(lab);
    // a program whose owner was killed goes when the kernel releases its link: give it a moment
    if (!xdpMayStay) {
      let left: string[] = [];
      await waitFor(async () => (left = await xdpOn(lab)).length === 0, { what: `no XDP program on lab ${lab.id}'s veth after the test`, timeoutMs: 5_000, detail: () => left.join(', ') });
    }
  } finally {
    await lab.destroy();
  }
  await assertLabGone(lab.id);
  return result;
}

/**
 * Labs shared by the tests of one file, one per (driver, MTU), for files whose many tests would
 * otherwise spend most of their time building labs. use() hands a test the lab (built on first
 * use) and afterwards checks the test left no XDP program on it, as withLab does; a test that
 * failed or left one gets its lab destroyed, so the next test has a fresh one. destroy() (the
 * file's after() hook: it runs when tests failed too) destroys them all and checks they are gone.
 */
export class SharedLabs {
  private readonly labs = new Map<string, Promise<Lab>>();

  async use<T>(opts: Pick<LabOptions, 'driver' | 'mtu'>, fn: (lab: Lab) => T | Promise<T>): Promise<T> {
    const key = `${opts.driver ?? 'veth'}/${opts.mtu ?? ''}`;
    let building = this.labs.get(key);
    if (building === undefined) {
      building = Lab.create(opts).then((lab) => (trackLab(lab.id), lab));
      this.labs.set(key, building);
      // a lab that could not be built is not kept: the next test tries again
      building.catch(() => this.labs.delete(key));
    }
    const lab = await building;
    let clean = false;
    try {
      const result = await fn(lab);
      let left: string[] = [];
      await waitFor(async () => (left = await xdpOn(lab)).length === 0, { what: `no XDP program on lab ${lab.id} after the test`, timeoutMs: 5_000, detail: () => left.join(', ') });
      clean = true;
      return result;
    } finally {
      if (!clean) {
        this.labs.delete(key);
        await lab.destroy();
        await assertLabGone(lab.id);
      }
    }
  }

  async destroy(): Promise<void> {
    const labs = await Promise.allSettled([...this.labs.values()]);
    this.labs.clear();
    for (const r of labs) {
      if (r.status !== 'fulfilled') continue;
      await r.value.destroy();
      await assertLabGone(r.value.id);
    }
  }
}

/** Nothing of lab `id` is left: holders, links, named namespaces, taps (holders may take a moment to be reaped). */
export async function assertLabGone(id: string): Promise<void> {
  let left = await Lab.leftovers(id);
  await waitFor(async () => {
    left = await Lab.leftovers(id);
    return left.holders.length + left.links.length + left.netns.length + left.taps.length === 0;
  }, { what: `lab ${id} to be gone`, timeoutMs: 5_000 }).catch(() => {});
  assert.deepEqual(left, { holders: [], links: [], netns: [], taps: [] }, `leftovers of lab ${id}`);
}

/**
 * The lab a CLI run (`afxdp demo`, pid `cliPid`) built, found through its namespace holders
 * (`afxdp-ns-<id>-rx`, children of the run): its id, the rx holder's pid and the rx interface.
 */
export function labOfRun(cliPid: number): { id: string; rxPid: number; rxIf: string } | null {
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const m = /^afxdp-ns-([a-z0-9]{6})-rx\0/.exec(fs.readFileSync(`/proc/${e}/cmdline`, 'latin1'));
      if (!m) continue;
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${e}/status`, 'utf8'))?.[1]);
      if (ppid === cliPid) return { id: m[1]!, rxPid: Number(e), rxIf: `afxdp-${m[1]}r` };
    } catch {
      // gone while we looked
    }
  }
  return null;
}

/** afxdp's XDP counters on the rx end of the lab of CLI run `cliPid` (null until it attached). */
export async function runCounters(cliPid: number): Promise<StampCounters | null> {
  const lab = labOfRun(cliPid);
  if (lab === null) return null;
  return stampCounters((cmd, args) => runTool('nsenter', ['-t', String(lab.rxPid), '-n', '--', cmd, ...args]), lab.rxIf);
}

/** Waits until the XDP program of CLI run `cliPid` redirected at least `n` packets to its socket. */
export async function waitForRunTraffic(cliPid: number, n: number, timeoutMs = 20_000): Promise<void> {
  let last: StampCounters | null = null;
  await waitFor(async () => (last = await runCounters(cliPid)) !== null && last.redirected >= n, {
    what: `the XDP program of run ${cliPid} to redirect ${n} packets`,
    timeoutMs,
    detail: () => JSON.stringify(last),
  });
}

/** The lab ends that have an XDP program attached, e.g. ["afxdp-abc123r"]. */
export async function xdpOn(lab: Lab): Promise<string[]> {
  const out: string[] = [];
  // a tap lab's two ends are one interface
  for (const s of lab.driver === 'tap' ? [lab.rx] : [lab.rx, lab.tx]) {
    if ((await attachedProgramId((cmd, args) => s.netns.exec(cmd, args), s.ifname)) !== null) out.push(s.ifname);
  }
  return out;
}

/** `nsenter` prefix that runs a command in the namespace of one lab end. */
export function inside(lab: Lab, side: 'rx' | 'tx' = 'rx'): string[] {
  return ['nsenter', '-t', String(lab[side].netns.pid), '-n', '--'];
}

export type GenOptions = Partial<Pick<GeneratorOptions, 'queue' | 'srcPort' | 'dstPort' | 'size' | 'runId' | 'batchSize' | 'trackFrames'>>;

/** afxdp's generator on the lab's tx end (on tap: the tap's fd), addressed to its rx end. The caller closes it. */
export function openGenerator(lab: Lab, o: GenOptions = {}): TrafficGenerator {
  return TrafficGenerator.open({ ...lab.senderOptions(o.queue ?? 0), ...o });
}

/** Sends `count` frames from tx to rx (default 20,000 pps) and resolves with how many the kernel took. */
export async function sendFrames(lab: Lab, count: number, o: GenOptions & { rate?: number } = {}): Promise<number> {
  const { rate, ...gen } = o;
  const g = openGenerator(lab, gen);
  try {
    return await g.send({ count, rate: rate ?? 20_000 });
  } finally {
    g.close();
  }
}
