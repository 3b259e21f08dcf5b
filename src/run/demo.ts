/**
 * `afxdp demo` as a library call: build a private lab (two namespaces + veth, or a tap), run the pipeline
 * (run/pipeline.ts, through run/demo-run.ts) on the receiving end while the other end sends test
 * traffic, report, and tear everything down — on success, on error and on abort.
 */
import { Lab, checkLabDriver } from '../lab/lab.js';
import { AfxdpError } from '../errors.js';
import type { Report } from '../report/report.js';
import { checkStampObject } from '../xdp/stamp-program.js';
import { runPingDemo, checkPingOptions } from './ping-demo.js';
import { runDemoOnLab } from './demo-run.js';
import { runCompareStack, checkCompareStack } from './compare-stack.js';
import { demoMtu, type DemoOptions } from './demo-options.js';
import { frameSizes } from '../lab/generator.js';

export type { DemoOptions };

export async function runDemo(opts: DemoOptions = {}): Promise<Report> {
  const packets = opts.packets ?? 10000;
  const rate = opts.rate ?? 10000;
  const queues = opts.queues ?? 1;
  const log = opts.log ?? (() => {});
  // a user object afxdp cannot use is refused before anything is built
  if (opts.ping) checkPingOptions(opts);
  if (opts.compareStack) checkCompareStack(opts);
  if (opts.program !== undefined) checkStampObject(opts.program, opts.xskmap);
  if (opts.size !== undefined) frameSizes(opts.size); // a wrong size is refused before the lab is built
  const driver = checkLabDriver(opts.driver);
  if (driver === 'tap' && (opts.ping || opts.compareStack)) {
    throw new AfxdpError('EUSAGE', `${opts.ping ? '--ping' : '--compare-stack'} needs the veth lab: on a tap lab the sender is the tap's fd, which neither receives replies nor has a kernel stack beside it`, { hint: 'leave --driver at veth for this run' });
  }
  const largest = opts.size === undefined ? 0 : Math.max(...frameSizes(opts.size));
  if (driver === 'tap' && largest > (opts.frameSize ?? 4096)) {
    throw new AfxdpError('EUSAGE', `--size ${largest} needs the veth lab: a tap takes one frame per write, and frames larger than the UMEM frame (${opts.frameSize ?? 4096} bytes) would be chains`, { hint: 'send at most 4096-byte frames on a tap lab, or leave --driver at veth for jumbo frames' });
  }
  const lab = await Lab.create({ driver, queues, mtu: demoMtu(opts.size) });
  try {
    if (opts.ping) return await runPingDemo(lab, opts, packets, rate, log);
    // each of its runs sets up as root (a stack receiver per run): it cannot drop after the first
    if (opts.compareStack) return await runCompareStack(lab, { ...opts, dropPrivileges: null });
    const { report, error } = await runDemoOnLab(lab, opts);
    if (error) throw error;
    return report;
  } finally {
    await lab.destroy();
  }
}
