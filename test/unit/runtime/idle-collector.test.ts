import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectDue, IDLE_POLICY, type IdleFigures } from '../../../src/runtime/idle-collector.js';

const MiB = 1024 * 1024;
/** Quiet for 5 s, last full GC a minute ago, 20 MiB after it, 100 MiB now: due. */
const due: IdleFigures = {
  now: 100_000,
  lastReadAt: 95_000,
  lastCollectAt: 40_000,
  inUse: 100 * MiB,
  baseline: 20 * MiB,
  open: 0,
  peakOpen: 0,
};

test('a quiet router with memory in use well past the last full GC collects', () => {
  assert.equal(collectDue(due), true);
  assert.equal(collectDue({ ...due, lastCollectAt: Number.NEGATIVE_INFINITY }), true);
  assert.equal(collectDue({ ...due, lastReadAt: due.now - IDLE_POLICY.quietMs }), true);
});

test('never while bytes are being read', () => {
  assert.equal(collectDue({ ...due, lastReadAt: due.now }), false);
  assert.equal(collectDue({ ...due, lastReadAt: due.now - IDLE_POLICY.quietMs + 1 }), false);
});

test('at most once per minIntervalMs', () => {
  assert.equal(
    collectDue({ ...due, lastCollectAt: due.now - IDLE_POLICY.minIntervalMs + 1 }),
    false,
  );
  assert.equal(collectDue({ ...due, lastCollectAt: due.now - IDLE_POLICY.minIntervalMs }), true);
});

test('only when in use is both twice the baseline and 32 MiB above it', () => {
  // Twice, but only 30 MiB more.
  assert.equal(collectDue({ ...due, baseline: 30 * MiB, inUse: 60 * MiB }), false);
  // 40 MiB more, but not twice.
  assert.equal(collectDue({ ...due, baseline: 60 * MiB, inUse: 100 * MiB }), false);
  assert.equal(collectDue({ ...due, baseline: 32 * MiB, inUse: 64 * MiB }), true);
});

test('or when many streams closed since the peak, even with little growth', () => {
  const flat = { ...due, inUse: 60 * MiB, baseline: 55 * MiB };
  assert.equal(collectDue(flat), false);
  assert.equal(collectDue({ ...flat, peakOpen: 16_384, open: 0 }), true);
  assert.equal(collectDue({ ...flat, peakOpen: 16_384, open: 8_192 }), true);
  // Not half of the peak gone, or too few streams.
  assert.equal(collectDue({ ...flat, peakOpen: 16_384, open: 8_193 }), false);
  assert.equal(collectDue({ ...flat, peakOpen: 1_023, open: 0 }), false);
  // Still never while busy.
  assert.equal(collectDue({ ...flat, peakOpen: 16_384, open: 0, lastReadAt: due.now }), false);
});
