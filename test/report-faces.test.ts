/**
 * Every face builds the one report: sock.report() carries what `afxdp latency --json` writes (env,
 * taken, timeline, histograms) and its HTML page plots it; a demo-length run's timeline is sized
 * to the run (a point every 50 ms for a 1 s run, not one point); runLatency's onInterval gets the
 * live view's numbers. Real labs, real XDP and AF_XDP sockets, the pages in headless Chromium.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { open, runLatency, runCalibrate, AfxdpError, type Report, type LiveInterval } from '../src/index.js';
import { runDemo, runCompareIface } from '../src/entry/lab.js';
import { renderRunHtml } from '../src/entry/report.js';
import { parseReportJson } from '../src/report/html.js';
import { withLab, sendFrames, assertLabGone } from './lib/lab.js';
import { waitFor } from './lib/wait.js';
import { inChromium, hasChromium, CHROMIUM } from './lib/chromium.js';
import { assertNoLeftovers } from './lib/cli.js';

interface PageData {
  canvases: number;
  errors: string[];
  distText: string;
  rows: Array<[string, string]>;
  data: { timeline: unknown[]; segments: Array<{ name: string; dist: { x: number[] } }> };
}

/** Renders the report to a page, opens it in Chromium, and reads back what the charts were given. */
async function pageOf(report: Report, dir: string, name: string): Promise<PageData> {
  assert.ok(hasChromium, `${CHROMIUM} is installed (bash scripts/setup)`);
  const file = path.join(dir, `${name}.html`);
  fs.writeFileSync(file, renderRunHtml({ report, source: name }));
  const [page] = await inChromium([file], 'body[data-charts="3"]', async (p, _f, errors) => ({
    canvases: await p.locator('#dist .uplot canvas, #time .uplot canvas, #rate .uplot canvas').count(),
    errors,
    distText: await p.locator('#dist').innerText(),
    rows: await p.locator('table.kv tr').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('th')?.textContent ?? '', tr.querySelector('td')?.textContent ?? ''] as [string, string])),
    data: JSON.parse((await p.locator('#data').textContent()) ?? 'null') as PageData['data'],
  }));
  return page!;
}

/** The report as a saved file reads it back, and the checks every run's report passes. */
function checkReport(r: Report): void {
  const back = parseReportJson(JSON.stringify(r), 'run.json');
  assert.deepEqual(back, JSON.parse(JSON.stringify(r)), 'the document survives JSON');
  const received = r.packets.received;
  assert.ok(received > 0);
  assert.equal(r.latency_ns.xdp_to_user.count, received);
  assert.equal(r.per_queue?.reduce((a, q) => a + q.received, 0), received);
  assert.equal(r.env?.kernel, os.release());
  assert.equal(r.env?.driver, 'veth');
  assert.ok(r.taken !== undefined && r.taken.text.length > 0, 'taken says which frames');
  assert.ok(r.timeline !== undefined && r.timeline.length >= 1);
  assert.equal(r.timeline.reduce((a, row) => a + row.received, 0), received, 'the timeline rows add up to received');
  assert.ok(typeof r.timeline_interval_s === 'number' && r.timeline_interval_s >= 0.05 && r.timeline_interval_s <= 1);
  const h = decodeFromCompressedBase64(r.histograms!.xdp_to_user!, 64);
  assert.equal(h.totalCount, received, 'the histogram holds every sample');
  assert.equal(h.getValueAtPercentile(99), r.latency_ns.xdp_to_user.p99, 'the same distribution as the summary');
}

test("sock.report() is the CLI's document (env, taken, timeline, histograms) and its HTML page plots the data", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-faces-'));
  try {
    // the keys of the CLI pipeline's report of the same kind of run, to hold the socket's against
    const demo = await runDemo({ packets: 500, rate: 5000 });
    await withLab(async (lab) => {
      const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd });
      let got = 0;
      try {
        sock.onBatch((b) => void (got += b.length));
        // 1.5 s of traffic: the socket's timeline (a row per second) has a full row and the last part
        assert.equal(await sendFrames(lab, 1500, { rate: 1000 }), 1500);
        await waitFor(() => got >= 1500, { what: '1500 packets', detail: () => `${got}` });
      } finally {
        sock.close();
      }
      const r = sock.report();
      checkReport(r);
      assert.equal(r.packets.received, 1500);
      assert.equal(r.timeline_interval_s, 1, 'a socket does not know how long it will run: a row per second');
      assert.ok(r.timeline!.length >= 2, `${r.timeline!.length} rows`);
      assert.deepEqual(r.taken, { match: 'udp', udp_port: 0, text: 'every UDP datagram to any port' });
      assert.ok(r.duration_s >= 1.4 && r.duration_s < 30, `duration until close(): ${r.duration_s}`);
      const runOnly = new Set(['outputs', 'warmup', 'ping', 'paths']);
      const missing = Object.keys(demo).filter((k) => !runOnly.has(k) && !(k in r) && k !== 'instrument');
      assert.deepEqual(missing, [], 'every key of the CLI pipeline\'s report');
      assert.throws(() => sock.report({ durationS: -1 }), (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE');
      assert.throws(() => sock.report({ duration: 3 } as never), /unknown option "duration" \(did you mean "durationS"\?\)/);

      const page = await pageOf(r, dir, 'socket');
      assert.deepEqual(page.errors, []);
      assert.equal(page.canvases, 3, 'three charts');
      assert.doesNotMatch(page.distText, /no latency samples/);
      assert.equal(page.data.timeline.length, r.timeline!.length);
      assert.ok(page.data.segments[0]!.dist.x.length > 10, 'the distribution plot has its percentile points');
      assert.deepEqual(page.rows.find(([k]) => k === 'queue'), ['queue', '0'], '"queue 0", not "queues 0"');
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeftovers();
});

test("a demo-length run's timeline is sized to the run: a point every 50 ms for 1 s, plotted on the page", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-faces-'));
  try {
    // the demo's defaults: 10 000 packets at 10 000 pps, about one second
    const r = await runDemo({ outputs: { html: path.join(dir, 'demo.html') } });
    checkReport(r);
    assert.equal(r.timeline_interval_s, 0.05);
    assert.ok(r.timeline!.length >= 10, `${r.timeline!.length} timeline points`);
    await assertLabGone(r.iface.replace(/^afxdp-/, '').slice(0, -1));
    const page = await pageOf(r, dir, 'demo');
    assert.deepEqual(page.errors, []);
    assert.equal(page.canvases, 3);
    assert.ok(page.data.timeline.length >= 10, 'the over-time charts get every point');
    assert.deepEqual(page.rows.find(([k]) => k === 'over time'), ['over time', 'a point every 50 ms']);
    assert.match(fs.readFileSync(path.join(dir, 'demo.html'), 'utf8'), /a point every 50 ms/, 'the run\'s own --html page too');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeftovers();
});

test("runLatency's onInterval: about once a second, the live view's numbers; they add up to the report", async () => {
  await withLab(async (lab) => {
    const seen: LiveInterval[] = [];
    let opened = false;
    const running = runLatency({
      iface: lab.rx.ifname,
      netns: lab.rx.netns.fd,
      packets: 2500,
      onOpen: () => void (opened = true),
      onInterval: (i) => void seen.push(i),
    });
    await waitFor(() => opened, { what: 'the receiver attached' });
    assert.equal(await sendFrames(lab, 2500, { rate: 1000 }), 2500);
    const { report, error } = await running;
    assert.equal(error, null);
    assert.equal(report.taken?.match, 'afxdp', 'the CLI\'s default: afxdp\'s own test frames');
    assert.ok(seen.length >= 2, `${seen.length} intervals`);
    for (const i of seen.slice(0, -1)) assert.ok(i.dt >= 0.9 && i.dt <= 1.5, `a full interval lasts about a second: ${i.dt}`);
    assert.equal(seen.reduce((a, i) => a + i.received, 0), 2500);
    assert.equal(seen.at(-1)!.received_total, 2500);
    const busy = seen.find((i) => i.received > 0)!;
    const l = busy.latency_ns.xdp_to_user!;
    assert.ok(l.count === busy.received && l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.max, JSON.stringify(busy));
    assert.ok(Math.abs(busy.rate_pps - busy.received / busy.dt) <= 1);
    assert.ok(l.max <= report.latency_ns.xdp_to_user.max);
  });
});

test("the run functions take open()'s spellings; an unknown option is one line with a did-you-mean, before anything is built", async () => {
  const refused = async (run: Promise<unknown>, re: RegExp): Promise<void> => {
    await assert.rejects(run, (e: unknown) => e instanceof AfxdpError && e.code === 'EUSAGE' && re.test(e.message) && !e.message.includes('\n'));
  };
  await refused(runLatency({ ifname: 'lo', durationS: 1 } as never), /^runLatency: unknown option "ifname" \(did you mean "iface"\?\)$/);
  await refused(runLatency({ iface: 'lo', netnsFd: 3 } as never), /^runLatency: unknown option "netnsFd" \(did you mean "netns"\?\)$/);
  await refused(runLatency({ iface: 'lo', duration: 3 } as never), /^runLatency: unknown option "duration" \(did you mean "durationS"\?\)$/);
  await refused(runCompareIface({ iface: 'lo', port: 9000, durationS: 1 } as never), /^runCompareIface: unknown option "port" \(did you mean "udpPort"\?\)$/);
  await refused(runDemo({ packet: 10 } as never), /^runDemo: unknown option "packet" \(did you mean "packets"\?\)$/);
  await refused(runCalibrate({ round: 1 } as never), /^runCalibrate: unknown option "round" \(did you mean "rounds"\?\)$/);
  // the API's names in the errors of the layers below, not the command's flags
  await refused(runCompareIface({ iface: 'lo', udpPort: 0, durationS: 1 }), /^udpPort: 0 is out of range$/);
  await assertNoLeftovers();
});
