/** What a report says about where and how the run was made (afxdp, Node, kernel, driver, CPUs). */
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import type { RunEnvironment } from './report.js';
import { native, PACKAGE_ROOT } from '../native.js';
import { withNetns } from '../sys/netns.js';

let cachedVersion: string | undefined;
/** afxdp's own version (package.json). */
export function packageVersion(): string {
  cachedVersion ??= (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return cachedVersion;
}

/** What the HTML report and the hlog header say about the run. */
export function runEnvironment(version: string, ifname: string, netnsFd?: number): RunEnvironment {
  let driver: string | null = null;
  try {
    driver = withNetns(netnsFd, () => native().ethtoolDriver(ifname))?.driver ?? null;
  } catch {
    driver = null; // not every interface answers ETHTOOL_GDRVINFO
  }
  return { afxdp: version, node: process.version, kernel: os.release(), host: os.hostname(), driver, started: new Date().toISOString(), cpus: cpuAffinity(), cpus_online: os.cpus().length };
}

/** This process's CPU affinity as the kernel lists it ("0-3,8"): what `taskset -c` pinned it to. */
function cpuAffinity(): string | null {
  try {
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}
