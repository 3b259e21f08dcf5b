/**
 * Every output of a real run (namespaces, veth, XDP, AF_XDP): CSV, HdrHistogram log, pcapng
 * (read back by tshark), Prometheus /metrics during the run, the HTML report in headless
 * Chromium, `afxdp report` from the saved JSON and from the hlog, the live view in a
 * pseudo-terminal, and the errors for outputs that cannot be written — before anything runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { HistogramLogReader, listTags, type Histogram } from 'hdr-histogram-js';
import { runCli, assertNoLeftovers, assertOneLineError, BIN, scrapeWhileReceiving } from './lib/cli.js';
import { TrafficGenerator } from '../src/lab/generator.js';
import { withLab, inside, openGenerator, assertLabGone, waitForRunTraffic } from './lib/lab.js';
import { CSV_HEADER } from '../src/report/csv.js';
import type { Report } from '../src/report/report.js';
import { parseReportJson, pageFromHlog } from '../src/report/html.js';
import { AfxdpError } from '../src/errors.js';
import { CHROMIUM, hasChromium, openInChromium } from './lib/chromium.js';

// scripts/setup installs both (Debian's tshark and chromium); missing tools fail the test, never skip it
const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;


function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-out-'));
}

/** Nothing left by the labs of these runs (also those not started through runCli), then the shared check. */
async function assertRunsLeftNothing(ids: string[]): Promise<void> {
  assert.ok(ids.length > 0 && ids.every((id) => /^[a-z0-9]{6}$/.test(id)), `lab ids ${ids.join(',')}`);
  for (const id of ids) await assertLabGone(id);
  await assertNoLeftovers();
}

const labIdOfIface = (iface: string): string => iface.replace(/^afxdp-/, '').slice(0, -1);
const labIdsInLog = (stderr: string): string[] => [...stderr.matchAll(/lab ([a-z0-9]{6}):/g)].map((m) => m[1]!);

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

test('a demo run writes csv, hlog, pcapng, html and serves /metrics; every count equals received', async () => {
  const dir = tmpdir();
  const f = (n: string): string => path.join(dir, n);
  const packets = 8000;
  let midRun: Promise<string> | null = null;
  const r = await runCli(
    ['demo', '--packets', String(packets), '--rate', '4000', '--json', '--csv', f('run.csv'), '--hlog', f('run.hlog'), '--pcap', f('run.pcapng'), '--html', f('run.html'), '--prometheus', '127.0.0.1:0'],
    {
      timeoutMs: 60_000,
      onStderr: (chunk) => {
        const m = /metrics on (http:\/\/\S+)/.exec(chunk);
        if (m && midRun === null) {
          const url = m[1]!;
          // scrape while packets flow, while the run is still going
          midRun = scrapeWhileReceiving(url);
        }
      },
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.doesNotMatch(r.stderr, /pps {2}received/, '--json: no live view anywhere');
  const received = report.packets.received;
  assert.equal(received, packets);
  assert.equal(report.latency_ns.xdp_to_user.count, received);
  assert.equal(report.latency_ns.sender_to_xdp?.count, received, 'sender → xdp measured for every generator frame');
  assert.equal(report.latency_ns.hw_to_xdp, null, 'veth has no HW stamps; monotonic clock');
  assert.equal(report.per_queue?.length, 1);
  assert.equal(report.per_queue![0]!.received, received);
  assert.equal(report.per_queue![0]!.program.redirected, received, 'the XDP program redirected every packet');
  assert.equal(report.timeline!.reduce((a, row) => a + row.received, 0), received, 'timeline rows add up to received');
  assert.equal(report.env?.kernel, os.release());
  assert.equal(report.env?.driver, 'veth');

  // /metrics answered during the run, in the exposition format, with a histogram per segment
  assert.ok(midRun, 'the CLI announced the metrics URL');
  const text = await midRun!;
  assert.match(text, /# TYPE afxdp_latency_seconds histogram/);
  assert.match(text, /afxdp_latency_seconds_bucket\{segment="xdp_to_user",queue="0",le="\+Inf"\} \d+/);
  assert.match(text, /afxdp_latency_seconds_count\{segment="sender_to_xdp",queue="0"\} \d+/);
  assert.match(text, /# TYPE afxdp_kernel_rx_dropped_total counter/);
  assert.match(text, /afxdp_program_redirected_total\{queue="0"\} \d+/);
  const midCount = metric(text, 'afxdp_packets_received_total');
  assert.ok(midCount > 0 && midCount < packets, `scraped mid-run (${midCount} of ${packets})`);

  // CSV: header + one row per packet, seq 0..n-1 once each, latencies equal the report's min/max
  const csv = fs.readFileSync(f('run.csv'), 'utf8').trimEnd().split('\n');
  assert.equal(csv[0], CSV_HEADER);
  assert.equal(csv.length - 1, received);
  const seen = new Uint8Array(packets);
  let min = Infinity;
  let max = -Infinity;
  for (const line of csv.slice(1)) {
    const c = line.split(',');
    assert.equal(c.length, 10, line);
    seen[Number(c[0])]++;
    assert.equal(c[1], '0');
    assert.equal(Number(c[4]) - Number(c[3]), Number(c[6]), 'xdp_to_user = user_ts − xdp_ts');
    assert.equal(Number(c[3]) - Number(c[2]), Number(c[5]), 'sender_to_xdp = xdp_ts − tx_ts');
    assert.equal(c[7], '');
    assert.equal(c[8], 'meta');
    min = Math.min(min, Number(c[6]));
    max = Math.max(max, Number(c[6]));
  }
  assert.ok(seen.every((x) => x === 1), 'every seq exactly once');
  assert.equal(min, report.latency_ns.xdp_to_user.min);
  assert.equal(max, report.latency_ns.xdp_to_user.max);
  assert.equal(report.outputs?.csv?.records, received);
  assert.equal(report.outputs?.csv?.bytes, fs.statSync(f('run.csv')).size);

  // hlog: round trip through hdr-histogram-js's reader; per-tag counts add up to the report
  const log = fs.readFileSync(f('run.hlog'), 'utf8');
  assert.deepEqual(listTags(log).sort(), ['sender_to_xdp', 'xdp_to_user']);
  const reader = new HistogramLogReader(log, 64);
  const totals = new Map<string, number>();
  let intervals = 0;
  let xu: Histogram | null = null;
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    intervals++;
    totals.set(h.tag, (totals.get(h.tag) ?? 0) + h.totalCount);
    if (h.tag === 'xdp_to_user') {
      if (xu === null) xu = h;
      else xu.add(h);
    }
  }
  assert.ok(intervals >= 2 * 10 && intervals % 2 === 0, `one histogram per timeline interval and segment (${intervals}, a 2 s run: about 20 intervals)`);
  assert.equal(totals.get('xdp_to_user'), received);
  assert.equal(totals.get('sender_to_xdp'), received);
  assert.equal(xu!.getValueAtPercentile(99), report.latency_ns.xdp_to_user.p99, 'the log holds the same distribution');
  // the encoded log keeps buckets, not the exact max: equal to 3 significant digits
  const maxNs = report.latency_ns.xdp_to_user.max;
  assert.ok(Math.abs(xu!.maxValue - maxNs) <= maxNs / 1000 + 1, `log max ${xu!.maxValue} vs report max ${maxNs}`);

  // pcapng: tshark reads every frame, nanosecond resolution, the latency in each comment
  assert.ok(hasTshark, 'tshark is installed (bash scripts/setup)');
  {
    // (capinfos' "nanoseconds (9)" is checked in writers.test; here: 9 decimals in every epoch)
    const ts = spawnSync('tshark', ['-r', f('run.pcapng'), '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.comment', '-e', 'udp.dstport'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(ts.status, 0, ts.stderr);
    const rows = ts.stdout.trimEnd().split('\n');
    assert.equal(rows.length, received);
    const bySeq = new Map(csv.slice(1).map((l) => [l.split(',')[0]!, l.split(',')]));
    for (const row of [rows[0]!, rows[Math.floor(rows.length / 2)]!, rows.at(-1)!]) {
      const [epoch, comment, port] = row.split('\t');
      assert.match(epoch!, /^\d{10}\.\d{9}$/, 'nanosecond timestamps');
      assert.ok(Math.abs(Number(epoch) - Date.now() / 1000) < 600, 'timestamps are wall-clock time');
      assert.equal(port, '9');
      const m = /^seq=(\d+) xdp_to_user_ns=(\d+) sender_to_xdp_ns=(\d+)$/.exec(comment!);
      assert.ok(m, comment);
      const c = bySeq.get(m[1]!)!;
      assert.equal(m[2], c[6], 'comment matches the CSV row');
      assert.equal(m[3], c[5]);
    }
  }

  // afxdp report from the saved JSON and from the hlog
  fs.writeFileSync(f('run.json'), r.stdout);
  const fromJson = await runCli(['report', f('run.json'), '--html', f('from-json.html')]);
  assert.equal(fromJson.code, 0, fromJson.stderr);
  const fromHlog = await runCli(['report', f('run.hlog'), '--html', f('from-hlog.html')]);
  assert.equal(fromHlog.code, 0, fromHlog.stderr);

  for (const file of ['run.html', 'from-json.html', 'from-hlog.html']) {
    const html = fs.readFileSync(f(file), 'utf8');
    // nothing loaded from elsewhere (the browser check below also fails on any network request)
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|@import/i, `${file} is self-contained`);
    assert.match(html, /uPlot/, 'the chart library is inlined');
  }
  assert.ok(hasChromium, `${CHROMIUM} is installed (bash scripts/setup)`);
  {
    // from-json.html comes from the same renderer and data as run.html: compared below, not opened
    const checks = await openInChromium(['run.html', 'from-hlog.html'].map((n) => ({ file: f(n), screenshot: f(`${n}.png`) })));
    for (const c of checks) {
      assert.deepEqual(c.errors, []);
      assert.equal(c.canvases, 3, 'three uPlot charts rendered');
      assert.equal(c.summaryRows, 2, 'one summary row per measured segment');
      assert.match(c.title, /afxdp latency report/);
    }
    assert.ok(fs.statSync(f('run.html.png')).size > 10_000, 'a real screenshot');
    // the page from the saved JSON: same renderer, same numbers (the plots' data is the same JSON)
    const fromJsonHtml = fs.readFileSync(f('from-json.html'), 'utf8');
    const runHtml = fs.readFileSync(f('run.html'), 'utf8');
    const summaryOf = (h: string): string => /<table class="seg" id="summary">.*?<\/table>/s.exec(h)![0];
    assert.equal(summaryOf(fromJsonHtml), summaryOf(runHtml));
    assert.match(fromJsonHtml, new RegExp(`<td>${received.toLocaleString('en-US')}</td>`));
  }
  await assertRunsLeftNothing([labIdOfIface(report.iface)]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('outputs that cannot be written fail with one line before anything is attached', async () => {
  const dir = tmpdir();
  const cases: Array<[string[], number, RegExp]> = [
    [['--csv', '/nonexistent-afxdp/x.csv'], 1, /cannot write --csv \/nonexistent-afxdp\/x\.csv: its directory does not exist/],
    [['--hlog', dir], 1, /cannot write --hlog .*: it is a directory/],
    [['--pcap', '/proc/afxdp.pcapng'], 1, /cannot write --pcap/],
    [['--html', '/nonexistent-afxdp/r.html'], 1, /cannot write --html/],
    [['--prometheus', 'nohost:port'], 2, /--prometheus nohost:port is not HOST:PORT/],
  ];
  for (const [flags, code, pattern] of cases) {
    const r = await runCli(['demo', '--packets', '10', ...flags]);
    assertOneLineError(r, code, pattern);
    assert.doesNotMatch(r.stderr, /lab /, 'no lab was built');
  }
  // a port in use
  const busy = net.createServer();
  await new Promise<void>((res) => busy.listen(0, '127.0.0.1', () => res()));
  const port = (busy.address() as net.AddressInfo).port;
  const r = await runCli(['demo', '--packets', '10', '--prometheus', `127.0.0.1:${port}`]);
  busy.close();
  assertOneLineError(r, 1, /cannot listen on --prometheus 127\.0\.0\.1:\d+: the port is in use/);
  // latency: the output is checked before the interface is even looked up
  const l = await runCli(['latency', '--iface', 'afxdp-nope0', '--csv', '/nonexistent-afxdp/x.csv']);
  assertOneLineError(l, 1, /cannot write --csv/);
  // report: bad inputs are usage errors
  assertOneLineError(await runCli(['report', path.join(dir, 'missing.json'), '--html', path.join(dir, 'x.html')]), 2, /cannot read .*no such file/);
  // the other bad inputs of `afxdp report`, through the same functions the command calls
  assert.throws(() => parseReportJson('{"schema":"something/1"}', 'other.json'), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /is not an afxdp\.report\/1 document/.test(e.message));
  assert.throws(() => parseReportJson('{nope', 'bad.json'), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /is not JSON/.test(e.message));
  assert.throws(() => pageFromHlog('#[Histogram log format version 1.3]\n', 'empty.hlog'), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && /has no interval histograms/.test(e.message));
  assert.equal(fs.existsSync(path.join(dir, 'x.html')), false);
  await assertNoLeftovers();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('live view: a redrawn block with a progress bar in a pseudo-terminal, plain lines in a pipe', async () => {
  // script(1) gives the CLI a pseudo-terminal as stdout
  const cmd = `${process.execPath} ${BIN} demo --packets 5000 --rate 2500`;
  const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(tty.status, 0, tty.stderr);
  const out = tty.stdout;
  assert.match(out, /\x1b\[2K +\d+\.\d s +[\d,]+ pps +received [\d,]+ +\[#*\.*\] \d+%/, 'status line with a progress bar');
  assert.match(out, /\x1b\[\dF\x1b\[J/, 'the block is redrawn in place');
  assert.match(out, /xdp → user +\S+ \S+ +\S+ \S+ +\S+ \S+/);
  assert.match(out, /sender → xdp/);
  assert.match(out, /drops 0 this second/);
  assert.match(out, /received 5,000/, 'the final table follows');
  // not a terminal: no escape sequences; one plain line per second on stderr, the table on stdout
  const piped = await runCli(['demo', '--packets', '3000', '--rate', '2500']);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stdout + piped.stderr, /\x1b\[/);
  assert.match(piped.stderr, /^afxdp: \d+\.\d s {2}[\d,]+ pps {2}received [\d,]+ {2}sender → xdp p50 .* xdp → user p50 .* drops \d+$/m);
  assert.match(piped.stdout, /^latency +count/m);
  await assertRunsLeftNothing([...labIdsInLog(tty.stdout), ...labIdsInLog(piped.stderr)]);
});

test('latency --sender-ts on a foreign interface: sender → xdp from the payload, CSV and hlog counts equal received', async () => {
  await withLab(async (lab) => {
    const dir = tmpdir();
    try {
      const packets = 3000;
      let gen: TrafficGenerator | undefined;
      let sending: Promise<number> | undefined;
      const r = await runCli(['latency', '--iface', lab.rx.ifname, '--packets', String(packets), '--sender-ts', '--json', '--csv', path.join(dir, 'l.csv'), '--hlog', path.join(dir, 'l.hlog')], {
        wrap: inside(lab),
        onStderr: (chunk) => {
          if (!sending && /measuring on/.test(chunk)) {
            gen = openGenerator(lab);
            sending = gen.send({ count: packets, rate: 10000 });
          }
        },
      });
      assert.ok(sending, r.stderr);
      assert.equal(await sending, packets);
      gen!.close();
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as Report;
      assert.equal(doc.packets.received, packets);
      assert.equal(doc.latency_ns.sender_to_xdp?.count, packets);
      assert.equal(doc.anomalies?.sender_to_xdp_negative, 0, 'same host, same clock: never negative');
      assert.equal(fs.readFileSync(path.join(dir, 'l.csv'), 'utf8').trimEnd().split('\n').length - 1, packets);
      const reader = new HistogramLogReader(fs.readFileSync(path.join(dir, 'l.hlog'), 'utf8'), 64);
      let n = 0;
      for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) if (h.tag === 'sender_to_xdp') n += h.totalCount;
      assert.equal(n, packets);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  await assertNoLeftovers();
});

test('Ctrl-C mid-run: the outputs are complete and still equal received', async () => {
  const dir = tmpdir();
  let stopping: Promise<void> | undefined;
  const r = await runCli(['demo', '--packets', '1000000', '--rate', '5000', '--no-live', '--csv', path.join(dir, 'i.csv'), '--pcap', path.join(dir, 'i.pcapng'), '--hlog', path.join(dir, 'i.hlog')], {
    onStderr: (chunk, child) => {
      // stop mid-run, once packets are flowing
      if (stopping === undefined && /sending \d+ packets/.test(chunk)) stopping = waitForRunTraffic(child.pid!, 1000).then(() => void child.kill('SIGINT'));
    },
  });
  assert.ok(stopping, r.stderr);
  await stopping;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /SIGINT: stopping and reporting/);
  const received = Number(/received ([\d,]+)/.exec(r.stdout)![1]!.replace(/,/g, ''));
  assert.ok(received > 0 && received < 1_000_000, `stopped early (${received})`);
  assert.equal(fs.readFileSync(path.join(dir, 'i.csv'), 'utf8').trimEnd().split('\n').length - 1, received);
  const info = spawnSync('capinfos', ['-M', '-c', path.join(dir, 'i.pcapng')], { encoding: 'utf8' });
  assert.match(info.stdout, new RegExp(`Number of packets:\\s+${received}\\b`));
  const reader = new HistogramLogReader(fs.readFileSync(path.join(dir, 'i.hlog'), 'utf8'), 64);
  let n = 0;
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) if (h.tag === 'xdp_to_user') n += h.totalCount;
  assert.equal(n, received);
  fs.rmSync(dir, { recursive: true, force: true });
  await assertNoLeftovers();
});
