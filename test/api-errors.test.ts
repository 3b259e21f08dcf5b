/**
 * The socket's error channel on a real lab: when receiving ends on its own (the interface deleted,
 * the broker stopped, a receive worker that dies) the socket says so through `'error'`, a
 * rejected `for await`, the onBatch() error callback, `error` and onError(): one AfxdpError with
 * the code the CLI exits with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { open, AfxdpError } from '../src/index.js';
import { ROOT, runCli, assertNoLeftovers } from './lib/cli.js';
import { withLab, inside, sendFrames, xdpOn } from './lib/lab.js';
import { waitFor } from './lib/wait.js';

const HANDLERS = path.join(ROOT, 'test', 'fixtures', 'handlers');

test('interface deleted under a for await loop: the loop rejects with ENOIFACE, the same error is emitted and kept in sock.error', async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd });
    try {
      const emitted = new Promise<AfxdpError>((resolve) => sock.on('error', resolve));
      let received = 0;
      // the loop may end while `ip link del` is still running: catch its end at once, not later
      const ended = (async () => {
        for await (const b of sock) received += b.length;
      })().then(() => null, (err: unknown) => err);
      await sendFrames(lab, 50);
      await waitFor(() => received >= 50, { what: '50 packets', detail: () => `${received}` });
      await lab.tx.netns.exec('ip', ['link', 'del', lab.tx.ifname]);
      const e = await ended;
      assert.ok(e instanceof AfxdpError, String(e));
      assert.equal(e.code, 'ENOIFACE');
      assert.match(e.message, new RegExp(`interface ${lab.rx.ifname} disappeared`));
      assert.equal(await emitted, e);
      assert.equal(sock.error, e);
      assert.equal(sock.stats().received, 50, 'the counts so far stay');
      // onError() after the fact still hears of it
      assert.equal(await new Promise<AfxdpError>((resolve) => sock.onError(resolve)), e);
    } finally {
      sock.close();
    }
  });
});

test("interface deleted, poll 'worker': the onBatch() error callback gets ENOIFACE; no 'error' listener is needed", async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, poll: 'worker' });
    try {
      let received = 0;
      const failed = new Promise<unknown>((resolve) => sock.onBatch((b) => (received += b.length), resolve));
      await sendFrames(lab, 20);
      await waitFor(() => received >= 20, { what: '20 packets', detail: () => `${received}` });
      await lab.tx.netns.exec('ip', ['link', 'del', lab.tx.ifname]);
      const e = await failed;
      assert.ok(e instanceof AfxdpError);
      assert.equal(e.code, 'ENOIFACE');
      assert.equal(sock.error, e);
    } finally {
      sock.close();
    }
  });
});

test("a receive worker that dies (its handler calls process.exit): 'error' with ESTATE naming the queue; close() leaves nothing", async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd, handler: path.join(HANDLERS, 'exits.mjs') });
    try {
      const failed = new Promise<AfxdpError>((resolve) => sock.on('error', resolve));
      await sendFrames(lab, 5);
      // the workers are unref'd: waitFor's timer keeps this process up meanwhile
      await waitFor(() => sock.error !== null, { what: 'the worker failure' });
      const e = await failed;
      assert.equal(e.code, 'ESTATE');
      assert.match(e.message, /^the receive worker of queue 0 exited \(code 3\) while receiving$/);
      assert.equal(sock.error, e);
    } finally {
      sock.close();
    }
    assert.deepEqual(await xdpOn(lab), []);
  });
});

test('the broker stopped while a client receives: the client is told EBROKER (onError), like the CLI', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'afxdp-face-'));
  let child: ChildProcess | undefined;
  try {
    await withLab(async (lab) => {
      const socket = path.join(dir, 'broker.sock');
      let log = '';
      const done = runCli(['serve', '--socket', socket, '--iface', lab.rx.ifname], { wrap: inside(lab), timeoutMs: 120_000, onSpawn: (c) => (child = c), onStderr: (chunk) => (log += chunk) });
      await waitFor(() => /broker listening/.test(log), { what: 'the broker to listen', timeoutMs: 20_000, detail: () => log });
      const sock = open({ iface: lab.rx.ifname, broker: socket });
      try {
        const failed = new Promise<AfxdpError>((resolve) => sock.onError(resolve));
        let received = 0;
        sock.onBatch((b) => (received += b.length));
        await sendFrames(lab, 20);
        await waitFor(() => received >= 20, { what: '20 packets through the broker', detail: () => `${received}` });
        child!.kill('SIGTERM');
        await waitFor(() => sock.error !== null, { what: 'the client to notice the broker gone' });
        const e = await failed;
        assert.equal(e.code, 'EBROKER');
        assert.match(e.message, /the broker at .*broker\.sock went away/);
        assert.equal((await done).code, 0);
      } finally {
        sock.close();
      }
    });
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assertNoLeftovers();
});
