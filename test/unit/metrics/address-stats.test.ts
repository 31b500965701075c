/**
 * The bounds of the address labels (metrics/address-stats.ts): streams for addresses the
 * site does not know share one entry, however many names a peer makes up; entries of
 * addresses that are gone leave once idle, and their histogram series with them; a reset
 * before the open maps to its outcome, and a dial's timeout is found through its causes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { causedBy, ErrorCode, SkiffError } from '../../../src/errors.js';
import {
  AddressBook,
  OUTCOMES,
  Outcome,
  outcomeOfReset,
  UNKNOWN_ADDRESS,
} from '../../../src/metrics/address-stats.js';
import { CallCounts } from '../../../src/metrics/call-counts.js';
import { createRouterMetrics } from '../../../src/metrics/registry.js';
import type { MetricsSource } from '../../../src/metrics/source.js';
import { ResetCode } from '../../../src/protocol/frame.js';
import { parseExposition, samplesOf } from '../../helpers/prom-text.js';

function sourceWith(book: AddressBook): MetricsSource {
  return {
    siteName: 'here',
    links: () => [],
    addresses: book,
    connectorAddresses: () => [],
    routing: () => ({
      sitesKnown: 1,
      sitesReachable: 1,
      addresses: 0,
      advertsSent: 0,
      advertsReceived: { news: 0, old: 0, refused: 0, own: 0 },
      routeChanges: 1,
    }),
    buffered: () => ({ current: 0, peak: 0 }),
    streams: () => ({ active: 0, total: 0 }),
    adminCalls: new CallCounts(),
  };
}

describe('address stats', () => {
  test('10,000 made-up addresses share the one (unknown) entry', async () => {
    const known = new Set(['db']);
    const book = new AddressBook((address) => known.has(address));
    for (let i = 0; i < 10_000; i++) book.get(`made-up-${i}`).relay.opened[Outcome.NO_ROUTE]++;
    book.get('db').connector.opened[Outcome.OK]++;
    assert.deepEqual(
      [...book.entries()].map((s) => s.address),
      ['db', UNKNOWN_ADDRESS],
    );
    const metrics = createRouterMetrics(sourceWith(book), { processMetrics: false });
    const exp = parseExposition(await metrics.scrape());
    const opened = samplesOf(exp, 'skiff_address_streams_opened_total');
    assert.equal(opened.length, 2 * OUTCOMES.length, 'one side per address, every outcome');
    assert.equal(
      samplesOf(exp, 'skiff_address_streams_opened_total', {
        address: UNKNOWN_ADDRESS,
        side: 'relay',
        outcome: 'no_route',
      })[0]?.value,
      10_000,
    );
    metrics.close();
  });

  test('prune drops an address gone from the site once its streams ended, histogram series too', async () => {
    const known = new Set(['a', 'b']);
    const book = new AddressBook((address) => known.has(address));
    const metrics = createRouterMetrics(sourceWith(book), { processMetrics: false });
    for (const address of ['a', 'b']) {
      const stats = book.get(address);
      stats.listener.open++;
      stats.listener.opened[Outcome.OK]++;
      book.openTime(stats, 'listener', performance.now() - 5);
    }
    known.clear();
    book.get('b').listener.open--; // b's stream ended; a's is still open
    book.prune();
    assert.deepEqual(
      [...book.entries()].map((s) => s.address),
      ['a'],
    );
    const exp = parseExposition(await metrics.scrape());
    const counts = samplesOf(exp, 'skiff_address_open_duration_seconds_count');
    assert.deepEqual(
      counts.map((s) => [s.labels.address, s.value]),
      [['a', 1]],
    );
    metrics.close();
    assert.equal(book.onOpenTime, undefined, 'close() detaches the histogram');
  });

  test('a reset before the open counts as its outcome', () => {
    assert.equal(outcomeOfReset(ResetCode.REFUSED), Outcome.REFUSED);
    assert.equal(outcomeOfReset(ResetCode.NO_ROUTE), Outcome.NO_ROUTE);
    assert.equal(outcomeOfReset(ResetCode.LIMIT), Outcome.LIMIT);
    assert.equal(outcomeOfReset(ResetCode.TIMEOUT), Outcome.TIMEOUT);
    for (const code of [ResetCode.ABORTED, ResetCode.LINK_LOST, ResetCode.SHUTDOWN, 99]) {
      assert.equal(outcomeOfReset(code), Outcome.ABORTED);
    }
    assert.equal(OUTCOMES[Outcome.NO_ROUTE], 'no_route');
  });

  test('a dial timeout is found through the error that wraps it', () => {
    const timeout = new SkiffError(ErrorCode.TIMEOUT, 'connect to h:1 timed out after 100 ms');
    assert.ok(causedBy(new Error('target h:1: timed out', { cause: timeout }), ErrorCode.TIMEOUT));
    assert.ok(!causedBy(new Error('connect ECONNREFUSED'), ErrorCode.TIMEOUT));
    assert.ok(!causedBy('a string', ErrorCode.TIMEOUT));
  });
});
