import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NetworkStatus, SiteStatus } from '../../../src/admin/api.js';
import {
  MAX_STATUS_BYTES,
  type StatusInput,
  significant,
  statusDocument,
} from '../../../src/kube/status-doc.js';

function input(n: {
  links: number;
  connectors: number;
  addresses: number;
  sites: number;
  problems: number;
}): StatusInput {
  const long = (prefix: string, i: number) => `${prefix}${i}-${'x'.repeat(50)}`;
  const status: SiteStatus = {
    site: {
      id: 'id1',
      name: 'team-a',
      platform: 'kubernetes',
      linkAccess: true,
      linkUrl: 'wss://skiff.team-a.svc:8443/v1/link',
    },
    version: '0.1.0',
    pid: 1,
    uptimeSeconds: 5,
    links: Array.from({ length: n.links }, (_, i) => ({
      id: `l${i}`,
      name: long('link', i),
      direction: 'in' as const,
      peerSiteId: `p${i}`,
      peerSiteName: long('site', i),
      cost: 1,
      state: 'down' as const,
      lastError: 'e'.repeat(5000),
      since: '2026-01-01T00:00:00.000Z',
      rttMs: 1.5,
      streams: 0,
    })),
    listeners: [],
    connectors: Array.from({ length: n.connectors }, (_, i) => ({
      address: long('c', i),
      host: 'h'.repeat(200),
      port: 80,
      state: 'failing' as const,
      error: 'refused '.repeat(100),
      activeStreams: 0,
    })),
    addresses: [],
    streams: { active: 0, total: 0 },
    buffered: { current: 0, peak: 0 },
    problems: Array.from({ length: n.problems }, (_, i) => ({
      kind: 'connector',
      name: long('p', i),
      where: `configmaps "skiff-connector-${long('p', i)}" in namespace team-a`,
      problem: 'bad '.repeat(500),
    })),
  };
  const sites = Array.from({ length: n.sites }, (_, i) => long('site', i));
  const network: NetworkStatus = {
    sites: sites.map((name, i) => ({ id: `s${i}`, name, reachable: i % 2 === 0, addresses: [] })),
    links: [],
    addresses: Array.from({ length: n.addresses }, (_, i) => ({ address: long('a', i), sites })),
  };
  return {
    status,
    network,
    watch: { state: 'watching', since: 'now' },
    state: 'running',
    now: new Date(0),
  };
}

const size = (doc: object) => Buffer.byteLength(JSON.stringify(doc));

describe('statusDocument', () => {
  it('keeps a small site whole', () => {
    const doc = statusDocument(
      input({ links: 3, connectors: 4, addresses: 5, sites: 3, problems: 2 }),
    );
    assert.equal(doc.links.items.length, 3);
    assert.equal(doc.connectors.items.length, 4);
    assert.equal(doc.addresses.items.length, 5);
    assert.equal(doc.problems.items.length, 2);
    for (const s of [doc.links, doc.connectors, doc.addresses, doc.problems]) {
      assert.equal(s.more, undefined);
    }
    assert.deepEqual(doc.network, { sites: 3, reachable: 2 });
  });

  it('stays under its bound however large the network, saying how much it left out', () => {
    for (const n of [
      { links: 1000, connectors: 0, addresses: 0, sites: 0, problems: 0 },
      { links: 0, connectors: 0, addresses: 10_000, sites: 1000, problems: 0 },
      { links: 500, connectors: 5000, addresses: 20_000, sites: 100, problems: 5000 },
    ]) {
      const doc = statusDocument(input(n));
      const bytes = size(doc);
      assert.ok(bytes <= MAX_STATUS_BYTES, `${bytes} bytes for ${JSON.stringify(n)}`);
      for (const s of [doc.links, doc.connectors, doc.addresses, doc.problems]) {
        assert.equal(s.items.length + (s.more ?? 0), s.total);
      }
      if (n.addresses > 0) {
        assert.ok((doc.addresses.more ?? 0) > 0);
        assert.equal(doc.addresses.items[0]?.sites.length, 16);
        assert.equal(doc.addresses.items[0]?.moreSites, n.sites - 16);
      }
    }
  });

  it('shares the room: short lists stay whole beside a long one', () => {
    const doc = statusDocument(
      input({ links: 2, connectors: 5000, addresses: 0, sites: 0, problems: 3 }),
    );
    assert.equal(doc.links.items.length, 2);
    assert.equal(doc.problems.items.length, 3);
    assert.ok((doc.connectors.more ?? 0) > 0);
    assert.ok(size(doc) > MAX_STATUS_BYTES * 0.8, 'the room is used');
  });

  it('cuts long texts', () => {
    const doc = statusDocument(
      input({ links: 1, connectors: 1, addresses: 0, sites: 0, problems: 1 }),
    );
    assert.equal(doc.links.items[0]?.lastError?.length, 256);
    assert.equal(doc.connectors.items[0]?.error?.length, 256);
    assert.equal(doc.problems.items[0]?.problem.length, 256);
  });

  it('does not count times, RTTs and stream counts as a change', () => {
    const a = input({ links: 2, connectors: 1, addresses: 1, sites: 1, problems: 0 });
    const b = structuredClone(a);
    b.now = new Date(5000);
    b.status.uptimeSeconds = 99;
    b.status.links[0]!.rttMs = 7.25;
    b.status.streams = { active: 3, total: 40 };
    assert.equal(significant(statusDocument(a)), significant(statusDocument(b)));
    b.status.links[1]!.state = 'up';
    assert.notEqual(significant(statusDocument(a)), significant(statusDocument(b)));
  });
});
