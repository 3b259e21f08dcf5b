/**
 * The broker against its fuzzer (test/lib/broker-fuzz.ts): a few hundred structured hostile
 * requests from the allowed, unprivileged uid, each answered within a second with a one-line
 * refusal or a grant within the limits, a legitimate client served after every one; the broker's
 * fds and memory stay bounded, the kernel logs no OOM, nothing stays attached.
 * `npm run soak:broker` runs the same with 10 000 cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soakBroker } from './lib/broker-soak.js';
import { assertNoLeftovers } from './lib/cli.js';

const CASES = Number(process.env.AFXDP_BROKER_FUZZ_CASES) || 200;

test(`broker protocol fuzzer: ${CASES} hostile requests from an allowed uid, each answered within a second; a legitimate client is served after each`, async () => {
  const r = await soakBroker(CASES, 0xb40c3);
  const s = r.summary;
  assert.deepEqual(s.failures, [], 'every case answered in time, as one line or a grant within the limits');
  assert.equal(s.cases, CASES);
  assert.equal(s.legit, CASES, 'the legitimate client was served after every case');
  assert.ok(s.answers >= CASES * 0.9, `nearly every case gets an answer (${s.answers}; a record too large to send gets none)`);
  assert.ok(s.granted > 0, 'some mutations are valid requests and are granted');
  assert.ok(s.maxMs < 1000, `slowest answer ${s.maxMs} ms`);
  // each hold costs a few fds while it lasts; nothing accumulates
  assert.ok(r.fds.after <= r.fds.before + 2, `broker fds ${JSON.stringify(r.fds)}`);
  assert.ok(r.fds.max <= r.fds.before + 40, `broker fds during the run ${JSON.stringify(r.fds)}`);
  assert.ok(r.rssKiB.max < r.rssKiB.before + 200 * 1024, `broker RSS ${JSON.stringify(r.rssKiB)} KiB`);
  assert.deepEqual(r.oom, [], 'no OOM in the kernel log');
  assert.deepEqual(r.attachedAfter, []);
  assert.equal(r.brokerExit.code, 0, r.brokerExit.stderr.slice(-2000));
  const longest = Math.max(...r.brokerLog.split('\n').map((l) => l.length));
  assert.ok(longest <= 300 + 'afxdp: '.length, `the longest log line has ${longest} characters`);
  await assertNoLeftovers();
});
