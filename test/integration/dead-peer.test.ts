/**
 * Proves dead peers are found by pings, not by TCP: a router that is frozen (SIGSTOP: its
 * sockets stay open, it just never answers) is declared dead by its peer within the idle
 * timeout, and the link comes back by itself once the router runs again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SITE_A, SITE_B, useLinkedSites } from '../helpers/pair.js';
import { match } from '../helpers/router.js';

const PING_MS = 300;
const IDLE_MS = 1200;

describe('dead peer detection', { timeout: 90_000 }, () => {
  const { sites } = useLinkedSites({
    settings: { backoffMaxMs: 1000, pingIntervalMs: PING_MS, idleTimeoutMs: IDLE_MS },
  });

  test('a frozen peer is declared down within the idle timeout, and the link returns when it wakes', {
    timeout: 60_000,
  }, async (t) => {
    const { a, b } = sites();
    const pid = b.pid;
    assert.ok(pid !== undefined, 'site B runs');
    const since = a.mark();
    const sinceB = b.mark();
    const frozenAt = performance.now();
    process.kill(pid, 'SIGSTOP');
    try {
      await a.waitForEvent(match('link down', { link: SITE_B }), { since, timeoutMs: 10_000 });
      const detectedMs = performance.now() - frozenAt;
      t.diagnostic(
        `frozen peer declared down after ${detectedMs.toFixed(0)} ms (idle timeout ${IDLE_MS} ms)`,
      );
      assert.ok(detectedMs < IDLE_MS + 2 * PING_MS + 1000, `detected after ${detectedMs} ms`);
      const link = (await a.links()).find((l) => l.name === SITE_B);
      assert.equal(link?.state, 'down');
      assert.match(link?.lastError ?? '', /no traffic from peer/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await a.waitForEvent(match('link up', { link: SITE_B }), { since, timeoutMs: 20_000 });
    await b.waitForEvent(match('link up', { link: SITE_A }), {
      since: sinceB,
      timeoutMs: 20_000,
    });
    const links = await b.links();
    assert.equal(links.find((l) => l.name === SITE_A)?.state, 'up');
  });
});
