/** One doctor finding: a line of `afxdp doctor` and an entry of its JSON. */
export type Status = 'ok' | 'warn' | 'fail';

export interface Finding {
  /** stable id, e.g. "kernel.btf" or "iface.zerocopy" */
  id: string;
  status: Status;
  /** what was checked, in a few words */
  title: string;
  /** what was found, for people */
  detail: string;
  /** machine-readable value (JSON) */
  value: unknown;
  /** the command (or change) that fixes a warn/fail; null for ok */
  fix: string | null;
}

export function finding(id: string, status: Status, title: string, detail: string, value: unknown, fix: string | null = null): Finding {
  return { id, status, title, detail, value, fix: status === 'ok' ? null : fix };
}
