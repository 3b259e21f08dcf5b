/**
 * `--hlog FILE`: an HdrHistogram interval log, one histogram per timeline interval (timeline_interval_s) and segment, tagged with
 * the segment name (Tag=xdp_to_user, Tag=sender_to_xdp, Tag=hw_to_xdp). Written with
 * hdr-histogram-js's HistogramLogWriter, so HistogramLogProcessor, HdrHistogram's plotters and
 * hdr-histogram-js's HistogramLogReader read it. Values are in ns; the "Interval_Max" column is in
 * ms (max / 1e6), HdrHistogram's convention for ns logs. A `#[afxdp {...}]` comment line holds
 * the run's environment so `afxdp report FILE.hlog` can label the page.
 */
import fs from 'node:fs';
import { HistogramLogWriter } from 'hdr-histogram-js';
import { openOutput } from './filebuf.js';
import type { Histogram } from '../measure/recorder.js';
import type { Segment, TickListener, TimelineRow } from '../measure/monitor.js';

/** The prefix of the comment line that carries afxdp's run description (JSON). */
export const HLOG_AFXDP_COMMENT = '[afxdp ';

export class HlogWriter implements TickListener {
  intervals = 0;
  private fd: number;
  private pending = '';
  private readonly writer: HistogramLogWriter;

  constructor(file: string) {
    this.fd = openOutput('--hlog', file);
    this.writer = new HistogramLogWriter((line) => {
      this.pending += line;
    });
  }

  /** Writes the header: version, start time, afxdp's run description, legend. */
  begin(startMs: number, info: Record<string, unknown>): void {
    const w = this.writer;
    w.outputLogFormatVersion();
    w.baseTime = startMs;
    w.outputStartTime(startMs);
    w.outputComment(`${HLOG_AFXDP_COMMENT}${JSON.stringify(info)}]`);
    w.outputLegend();
    this.write();
  }

  onInterval(_row: TimelineRow, intervals: Partial<Record<Segment, Histogram>>): void {
    for (const h of Object.values(intervals)) {
      if (h === undefined) continue;
      // ns values: report the interval max in ms like HdrHistogram's own ns logs
      this.writer.outputIntervalHistogram(h, undefined, undefined, 1e6);
      this.intervals++;
    }
    this.write();
  }

  private write(): void {
    if (this.pending === '' || this.fd < 0) return;
    fs.writeSync(this.fd, this.pending);
    this.pending = '';
  }

  close(): void {
    if (this.fd < 0) return;
    this.write();
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}
