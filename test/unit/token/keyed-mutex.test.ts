import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedMutex } from '../../../src/token/keyed-mutex.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

test('work on one key runs one at a time, in order; other keys run alongside', async () => {
  const mutex = new KeyedMutex();
  const log: string[] = [];
  const job = (key: string, n: number) =>
    mutex.run(key, async () => {
      log.push(`start ${key}${n}`);
      await tick();
      log.push(`end ${key}${n}`);
      return n;
    });
  const results = await Promise.all([job('a', 1), job('a', 2), job('b', 1)]);
  assert.deepEqual(results, [1, 2, 1]);
  assert.deepEqual(
    log.filter((l) => l.endsWith('a1') || l.endsWith('a2')),
    ['start a1', 'end a1', 'start a2', 'end a2'],
  );
  assert.ok(log.indexOf('start b1') < log.indexOf('end a1'), 'b did not wait for a');
  assert.equal(mutex.size, 0, 'keys are forgotten when idle');
});

test('a failing job releases the key for the next', async () => {
  const mutex = new KeyedMutex();
  await assert.rejects(
    mutex.run('k', async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await mutex.run('k', async () => 'next'), 'next');
  assert.equal(mutex.size, 0);
});
