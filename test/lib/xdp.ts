/**
 * What the kernel says about an XDP attachment, asked with independent tools (iproute2 and
 * bpftool), not through afxdp's own code: the program on an interface and the counters of
 * afxdp's stamping program (its `afxdp_counters` map, summed over CPUs and queues).
 */
import { execFile } from 'node:child_process';

export type Exec = (cmd: string, args: string[]) => Promise<{ stdout: string }>;

function tool(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

/** The id of the XDP program attached to `ifname` (run inside its namespace by `exec`), or null. */
export async function attachedProgramId(exec: Exec, ifname: string): Promise<number | null> {
  let stdout: string;
  try {
    ({ stdout } = await exec('ip', ['-j', 'link', 'show', 'dev', ifname]));
  } catch {
    return null; // the interface (or its namespace) is gone
  }
  const link = (JSON.parse(stdout || '[]') as Array<{ xdp?: { prog?: { id: number }; attached?: Array<{ prog?: { id: number } }> } }>)[0];
  return link?.xdp?.prog?.id ?? link?.xdp?.attached?.[0]?.prog?.id ?? null;
}

export interface StampCounters {
  seen: number;
  matched: number;
  redirected: number;
}

/** afxdp's counters of the program on `ifname`, summed over queues and CPUs; null without afxdp's program. */
export async function stampCounters(exec: Exec, ifname: string): Promise<StampCounters | null> {
  const id = await attachedProgramId(exec, ifname);
  if (id === null) return null;
  let mapIds: number[];
  try {
    mapIds = (JSON.parse(await tool('bpftool', ['-j', 'prog', 'show', 'id', String(id)])) as { map_ids?: number[] }).map_ids ?? [];
  } catch {
    return null; // detached and freed meanwhile
  }
  for (const m of mapIds) {
    const info = JSON.parse(await tool('bpftool', ['-j', 'map', 'show', 'id', String(m)])) as { name?: string };
    if (info.name !== 'afxdp_counters') continue;
    const entries = JSON.parse(await tool('bpftool', ['-j', 'map', 'dump', 'id', String(m)])) as Array<{ formatted?: { values: Array<{ value: Record<string, number> }> }; values?: Array<{ value: Record<string, number> }> }>;
    const sum: StampCounters = { seen: 0, matched: 0, redirected: 0 };
    for (const e of entries) {
      for (const v of (e.formatted ?? e).values ?? []) {
        sum.seen += Number(v.value.seen ?? 0);
        sum.matched += Number(v.value.matched ?? 0);
        sum.redirected += Number(v.value.redirected ?? 0);
      }
    }
    return sum;
  }
  return null;
}
