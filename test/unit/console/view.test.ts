/**
 * The console's view (console/view.ts) from a stand-in router: one edge per pair whose
 * adverts both list the other (a half left in a stale advert is no edge), RTTs in tenths of
 * a millisecond, per-address counters by side with the listener's error, links with their
 * counters; and none of a link's URL or anything like a key reaches the JSON.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LinkInfo, NetworkStatus } from '../../../src/admin/api.js';
import { buildView, type ConsoleSource } from '../../../src/console/view.js';
import { AddressBook, Outcome } from '../../../src/metrics/address-stats.js';
import { LinkCounters } from '../../../src/metrics/link-counters.js';

const network: NetworkStatus = {
  sites: [
    { id: 'id-a', name: 'a', reachable: true, addresses: ['web'] },
    { id: 'id-b', name: 'b', reachable: true, addresses: [] },
    { id: 'id-c', name: 'c', reachable: false, addresses: ['db', 'api'] },
  ],
  links: [
    { from: 'a', to: 'b', cost: 1, rttMs: 0.4567 },
    { from: 'b', to: 'a', cost: 2 },
    // c's old advert still lists b; b's own no longer lists c: the link is gone.
    { from: 'c', to: 'b', cost: 1, rttMs: 3 },
  ],
  addresses: [{ address: 'web', sites: ['a'] }],
};

const link: LinkInfo = {
  id: '0123456789ab',
  name: 'b',
  direction: 'out',
  peerSiteId: 'id-b',
  peerSiteName: 'b',
  cost: 1,
  state: 'down',
  url: 'wss://b.example:8443/v1/link',
  lastError: 'connect ECONNREFUSED 10.0.0.2:8443',
  since: '2026-01-01T00:00:00.000Z',
  rttMs: 0.4567,
  streams: 0,
};

function source(): ConsoleSource {
  const counters = Object.assign(new LinkCounters(), {
    sentBytes: 100,
    receivedBytes: 50,
    ups: 3,
  });
  const book = new AddressBook((address) => address === 'web');
  const web = book.get('web');
  web.listener.opened[Outcome.OK] = 2;
  web.listener.opened[Outcome.NO_ROUTE] = 1;
  web.listener.open = 1;
  web.listener.receivedBytes = 1000;
  web.listener.sentBytes = 24;
  return {
    siteId: 'id-a',
    metrics: { siteName: 'a', links: () => [[link, counters]], addresses: book },
    network: () => network,
    listeners: () => [
      {
        address: 'web',
        host: '127.0.0.1',
        port: 8080,
        state: 'retrying',
        error: 'port 8080 is in use',
        activeStreams: 0,
      },
    ],
    connectors: () => [],
  };
}

describe('console view', () => {
  test('sites, and one edge per pair both ends advertise', () => {
    const view = buildView(source());
    assert.equal(view.site, 'a');
    assert.deepEqual(view.sites, [
      { name: 'a', self: true, reachable: true, addresses: ['web'] },
      { name: 'b', self: false, reachable: true, addresses: [] },
      { name: 'c', self: false, reachable: false, addresses: ['api', 'db'] },
    ]);
    assert.deepEqual(view.edges, [{ a: 'a', b: 'b', costs: [1, 2], rttMs: 0.5 }]);
  });

  test('addresses by side, with the listener state and error; links with counters', () => {
    const view = buildView(source());
    assert.deepEqual(view.addresses, [
      {
        address: 'web',
        sites: ['a'],
        dialFailures: 0,
        listener: {
          opened: { ok: 2, refused: 0, no_route: 1, limit: 0, timeout: 0, aborted: 0 },
          open: 1,
          receivedBytes: 1000,
          sentBytes: 24,
        },
        listenerState: 'retrying',
        error: 'port 8080 is in use',
      },
    ]);
    assert.deepEqual(view.links, [
      {
        name: 'b',
        direction: 'out',
        peer: 'b',
        cost: 1,
        state: 'down',
        since: '2026-01-01T00:00:00.000Z',
        rttMs: 0.5,
        lastError: 'connect ECONNREFUSED 10.0.0.2:8443',
        streams: 0,
        sentBytes: 100,
        receivedBytes: 50,
        reconnects: 2,
      },
    ]);
  });

  test('the JSON holds no link URL, site id or key material', () => {
    const text = JSON.stringify(buildView(source()));
    assert.doesNotMatch(text, /wss:|id-a|id-b|BEGIN|PRIVATE/);
  });
});
