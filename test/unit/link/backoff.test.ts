import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Backoff } from '../../../src/link/backoff.js';

it('grows x1.6 from the initial delay up to the cap, with jitter within ±20%', () => {
  const mid = new Backoff(100, 1000, () => 0.5);
  assert.deepEqual(
    Array.from({ length: 7 }, () => mid.delay()),
    [100, 160, 256, 410, 655, 1000, 1000],
  );
  const low = new Backoff(100, 1000, () => 0);
  const high = new Backoff(100, 1000, () => 0.999999);
  assert.equal(low.delay(), 80);
  assert.equal(high.delay(), 120);
});

it('starts again from the initial delay after reset', () => {
  const b = new Backoff(50, 500, () => 0.5);
  b.delay();
  b.delay();
  b.reset();
  assert.equal(b.delay(), 50);
});
