/**
 * The batch iterator behind `for await (const b of sock)` keeps an async generator's protocol on
 * the real kernel: next() calls made without waiting queue in order, return() while a next() waits
 * ends it with done and frees the socket for another consumer, throw() rejects and frees it too,
 * and every batch arrives in the same result object (nothing allocated per batch for it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, AfxdpError } from '../src/index.js';
import { withLab, openGenerator } from './lib/lab.js';

test('batch iterator: queued next() calls, return() during a wait, throw(), one result object', async () => {
  await withLab(async (lab) => {
    const sock = open({ iface: lab.rx.ifname, netns: lab.rx.netns.fd });
    try {
      const it = sock.batches();
      // an async iterator like any other: it inherits what the platform gives them (asyncDispose where there is one)
      assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(it)), Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype));
      assert.equal(it[Symbol.asyncIterator](), it);
      // two next() calls without waiting: the second runs once the first has its batch
      const first = it.next();
      const second = it.next();
      const gen = openGenerator(lab);
      let got = 0;
      const results = new Set<object>();
      try {
        await gen.send({ count: 10, rate: 0 });
        const r1 = await first;
        assert.equal(r1.done, false);
        got += r1.value!.length;
        results.add(r1);
        await gen.send({ count: 10, rate: 0 });
        // the queued second next() released the first batch and takes what came after it
        for (let r = await second; ; r = await it.next()) {
          assert.equal(r.done, false);
          got += r.value!.length;
          results.add(r);
          if (got >= 20) break;
        }
        // nothing more is sent: this next() waits until return() ends it
        const waiting = it.next();
        const ended = await it.return();
        assert.deepEqual(ended, { value: undefined, done: true });
        assert.deepEqual(await waiting, { value: undefined, done: true });
        assert.deepEqual(await it.next(), { value: undefined, done: true });
      } finally {
        gen.close();
      }
      assert.equal(got, 20);
      assert.equal(results.size, 1, 'every batch comes in the one result object');
      // the socket is free again: a callback may consume, then a new iterator after offBatch()
      sock.onBatch(() => {});
      sock.offBatch();
      const it2 = sock.batches();
      const boom = new Error('stop here');
      await assert.rejects(it2.throw(boom), (e: unknown) => e === boom);
      assert.deepEqual(await it2.next(), { value: undefined, done: true });
      // close() while an iterator waits ends it with done
      const it3 = sock.batches();
      const w3 = it3.next();
      sock.close();
      assert.deepEqual(await w3, { value: undefined, done: true });
      await assert.rejects(sock.batches().next(), (e: unknown) => e instanceof AfxdpError && e.code === 'ECLOSED');
    } finally {
      sock.close();
    }
  });
});
