import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SiteAdvert } from '../../../src/routing/advert.js';
import { isSiteAdvert } from '../../../src/routing/advert.js';
import { Routes } from '../../../src/routing/routes.js';
import { Topology } from '../../../src/routing/topology.js';

const advert = (
  siteId: string,
  links: Record<string, number>,
  addresses: string[] = [],
  seq = 1,
): SiteAdvert => ({ siteId, siteName: siteId, seq, links, addresses });

const peer = (peerSiteId: string, outstanding = 0) => ({
  peerSiteId,
  outstanding,
  rttMs: undefined,
  accepting: true,
});

describe('Topology', () => {
  it('finds shortest paths and their first hop over two-way links only', () => {
    const t = new Topology('a');
    t.accept(advert('a', { b: 1, d: 10 }));
    t.accept(advert('b', { a: 1, c: 1 }));
    t.accept(advert('c', { b: 1, d: 1 }));
    t.accept(advert('d', { c: 1 })); // d does not advertise a: the a-d link is not a path
    const paths = t.paths();
    assert.deepEqual(paths.get('c'), { cost: 2, nextHop: 'b' });
    assert.deepEqual(paths.get('d'), { cost: 3, nextHop: 'b' });
    t.accept(advert('d', { c: 1, a: 10 }, [], 2));
    assert.deepEqual(t.paths().get('d'), { cost: 3, nextHop: 'b' });
    t.accept(advert('b', { a: 1 }, [], 2)); // b lost c
    assert.deepEqual(t.paths().get('d'), { cost: 10, nextHop: 'd' });
    assert.deepEqual(t.paths().get('c'), { cost: 11, nextHop: 'd' });
  });

  it('keeps the newest advert per site and forgets sites unreachable for too long', () => {
    const t = new Topology('a');
    t.accept(advert('a', {}));
    assert.equal(t.accept(advert('x', {}, [], 5)), true);
    assert.equal(t.accept(advert('x', {}, [], 4)), false);
    assert.equal(t.forget(1000, 500), false);
    assert.equal(t.forget(1400, 500), false);
    assert.equal(t.forget(1600, 500), true);
    assert.equal(t.get('x'), undefined);
  });
});

describe('Routes', () => {
  it('prefers this site, then the lowest path cost, balancing equal costs round-robin', () => {
    const r = new Routes<ReturnType<typeof peer>>({ id: 'a', name: 'a' });
    const toB = peer('b');
    const toC = peer('c');
    r.addNeighbour(toB, 1);
    r.addNeighbour(toC, 1);
    r.receive(advert('b', { a: 1 }, ['api']));
    r.receive(advert('c', { a: 1 }, ['api']));
    const picks = Array.from({ length: 10 }, () => {
      const route = r.choose('api');
      assert.equal(route?.kind, 'remote');
      const siteId = route.kind === 'remote' ? route.siteId : '';
      r.track(siteId)(); // opened and finished at once: outstanding stays 0
      return siteId;
    });
    assert.equal(picks.filter((s) => s === 'b').length, 5);
    const excluded = r.choose('api', new Set(['b']));
    assert.equal(excluded?.kind === 'remote' && excluded.via, toC);
    r.setLocal(['api']);
    assert.deepEqual(r.choose('api'), { kind: 'local' });
    assert.equal(r.choose('nothing'), undefined);
  });

  it('sends streams for a far site through the right neighbour, and stops once it is cut off', () => {
    const r = new Routes<ReturnType<typeof peer>>({ id: 'a', name: 'a' });
    const toB = peer('b');
    r.addNeighbour(toB, 1);
    r.receive(advert('b', { a: 1, c: 1 }));
    r.receive(advert('c', { b: 1 }, ['db']));
    const route = r.choose('db');
    assert.equal(route?.kind === 'remote' && route.via, toB);
    assert.equal(route?.kind === 'remote' && route.cost, 2);
    assert.deepEqual(r.summary(), { reachable: ['a', 'b', 'c'], addresses: { db: ['c'] } });
    r.removeNeighbour(toB);
    assert.equal(r.choose('db'), undefined);
    assert.deepEqual(r.summary(), { reachable: ['a'], addresses: {} });
    assert.equal(r.network().sites.find((s) => s.name === 'c')?.reachable, false);
  });

  it('gives no new streams to a peer that sent GOAWAY: the next best site takes them', () => {
    const r = new Routes<ReturnType<typeof peer>>({ id: 'a', name: 'a' });
    const toB = peer('b');
    const toB2 = peer('b');
    const toC = peer('c');
    r.addNeighbour(toB, 1);
    r.addNeighbour(toB2, 1);
    r.addNeighbour(toC, 5);
    r.receive(advert('b', { a: 1 }, ['api']));
    r.receive(advert('c', { a: 5 }, ['api']));
    toB.accepting = false; // one of two links to b is draining: the other takes b's streams
    assert.equal(r.nextHop('b'), toB2);
    toB2.accepting = false; // b is draining: c, though dearer, gets the stream
    assert.equal(r.nextHop('b'), undefined);
    const route = r.choose('api');
    assert.equal(route?.kind === 'remote' && route.via, toC);
    toC.accepting = false;
    assert.equal(r.choose('api'), undefined);
  });

  it('re-issues its own advert above a newer one of its own that it hears back', () => {
    const r = new Routes<ReturnType<typeof peer>>({ id: 'a', name: 'a' });
    const own = r.own();
    const { forward, flood } = r.receive({ ...own, seq: own.seq + 100 });
    assert.equal(forward, false);
    assert.ok(flood && flood.seq > own.seq + 100);
  });

  it('rejects malformed adverts', () => {
    assert.equal(isSiteAdvert(advert('a', { b: 1 })), true);
    assert.equal(isSiteAdvert({ siteId: 'a' }), false);
    assert.equal(isSiteAdvert({ ...advert('a', { b: -1 }) }), false);
    assert.equal(isSiteAdvert({ ...advert('a', {}), addresses: [1] }), false);
  });
});
