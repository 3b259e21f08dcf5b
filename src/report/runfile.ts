/** A saved run as `afxdp report` takes it: RUN.json (afxdp.report/1) or FILE.hlog, told apart by content. */
import fs from 'node:fs';
import { AfxdpError } from '../errors.js';
import type { Report } from './report.js';
import { pageFromHlog, pageFromReport, parseReportJson, renderHtml } from './html.js';

/** One input: a report document or the text of an HdrHistogram log; label and source name it on pages. */
export type RunSource = { label?: string; source?: string } & ({ report: Report } | { hlog: string });

/** Reads RUN.json or FILE.hlog; one-line EUSAGE errors for a missing, unreadable or foreign file. */
export function readRunFile(file: string): RunSource & { source: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (code ?? (e as Error).message);
    throw new AfxdpError('EUSAGE', `cannot read ${file}: ${why}`, { hint: 'pass a RUN.json or FILE.hlog that exists' });
  }
  if (text.trimStart().startsWith('{')) return { source: file, report: parseReportJson(text, file) };
  // an HdrHistogram log starts with its comment header, its column legend, or a (tagged) interval line
  if (!/^(#\[|"StartTimestamp"|Tag=|\d)/.test(text.trimStart())) {
    throw new AfxdpError('EUSAGE', `${file} is neither an afxdp.report/1 document nor an HdrHistogram log`, { hint: 'pass a file written by `afxdp demo --json` (RUN.json) or by --hlog' });
  }
  return { source: file, hlog: text };
}

/** The one-run page (what `--html` writes during a run) from a saved run. */
export function renderRunHtml(src: RunSource): string {
  const name = src.source ?? src.label ?? 'this run';
  return renderHtml('report' in src ? pageFromReport(src.report, name) : pageFromHlog(src.hlog, name));
}
