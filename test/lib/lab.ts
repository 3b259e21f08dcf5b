/**
 * The one way a test gets a lab: withLab() builds it, runs the test, destroys it and checks that
 * nothing of it is left (holders, links, named namespaces, an XDP program still attached to its
 * veth when the test ended). Leftovers are looked up by the lab's id: other runs may share the
 * machine. sendFrames()/openGenerator(): afxdp's generator from the lab's tx end to its rx end.
 */
import assert from 'node:assert/strict';
import { Lab, TrafficGenerator, type LabOptions, type GeneratorOptions } from '../../src/index.js';
import { trackLab } from './cli.js';
import { waitFor } from './wait.js';
import { attachedProgramId } from './xdp.js';

export interface WithLabOptions extends LabOptions {
  /** the test leaves an XDP program attached on purpose (destroying the lab removes it); default false */
  xdpMayStay?: boolean;
}

export async function withLab<T>(fn: (lab: Lab) => Promise<T>, opts: WithLabOptions = {}): Promise<T> {
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
  let left = await Lab.leftovers(lab.id);
  await waitFor(async () => {
    left = await Lab.leftovers(lab.id);
    return left.holders.length + left.links.length + left.netns.length === 0;
  }, { what: `lab ${lab.id} to be gone`, timeoutMs: 5_000, detail: () => JSON.stringify(left) }).catch(() => {});
  assert.deepEqual(left, { holders: [], links: [], netns: [] }, `leftovers of lab ${lab.id}`);
  return result;
}

/** The lab ends that have an XDP program attached, e.g. ["afxdp-abc123r"]. */
export async function xdpOn(lab: Lab): Promise<string[]> {
  const out: string[] = [];
  for (const s of [lab.rx, lab.tx]) {
    if ((await attachedProgramId((cmd, args) => s.netns.exec(cmd, args), s.ifname)) !== null) out.push(s.ifname);
  }
  return out;
}

/** `nsenter` prefix that runs a command in the namespace of one lab end. */
export function inside(lab: Lab, side: 'rx' | 'tx' = 'rx'): string[] {
  return ['nsenter', '-t', String(lab[side].netns.pid), '-n', '--'];
}

export type GenOptions = Partial<Pick<GeneratorOptions, 'queue' | 'srcPort' | 'dstPort' | 'size' | 'runId' | 'batchSize' | 'trackFrames'>>;

/** afxdp's generator on the lab's tx end, addressed to its rx end. The caller closes it. */
export function openGenerator(lab: Lab, o: GenOptions = {}): TrafficGenerator {
  return TrafficGenerator.open({ ifname: lab.tx.ifname, netnsFd: lab.tx.netns.fd, srcMac: lab.tx.macBytes, dstMac: lab.rx.macBytes, srcIp: lab.tx.ipBytes, dstIp: lab.rx.ipBytes, ...o });
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
