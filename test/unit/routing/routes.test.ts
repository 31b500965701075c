import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { defaultSettings } from '../../../src/config/settings.js';
import { type CertKey, createCa, siteIdOfCert, spkiBase64OfCert } from '../../../src/pki/index.js';
import {
  MAX_SEQ,
  parseAdvertBody,
  type SignedAdvert,
  type SiteAdvert,
  signAdvert,
} from '../../../src/routing/advert.js';
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

interface TestSite {
  id: string;
  ca: CertKey;
  key: string;
}

const sites: Record<string, TestSite> = {};

before(async () => {
  for (const name of ['a', 'b', 'c', 'x']) {
    const ca = await createCa(`skiff site CA ${name}`);
    sites[name] = { id: siteIdOfCert(ca.certPem), ca, key: spkiBase64OfCert(ca.certPem) };
  }
});

const id = (name: string): string => sites[name]!.id;

/** `name`'s advert, signed by its own CA, with links to the named sites. */
function signed(
  name: string,
  links: Record<string, number>,
  addresses: string[] = [],
  seq = 1,
  by = name,
): SignedAdvert {
  const byId = Object.fromEntries(Object.entries(links).map(([n, c]) => [id(n), c]));
  const body: SiteAdvert = { siteId: id(name), siteName: name, seq, links: byId, addresses };
  return signAdvert(body, sites[by]!.ca.keyPem, sites[by]!.key);
}

function routesOf(name: string, limits = defaultSettings) {
  const site = sites[name]!;
  return new Routes<ReturnType<typeof peer>>(
    { id: site.id, name },
    { sign: (a) => signAdvert(a, site.ca.keyPem, site.key), limits },
  );
}

describe('Routes', () => {
  it('prefers this site, then the lowest path cost, balancing equal costs round-robin', () => {
    const r = routesOf('a');
    const toB = peer(id('b'));
    const toC = peer(id('c'));
    r.addNeighbour(toB, 1);
    r.addNeighbour(toC, 1);
    assert.equal(r.receive(signed('b', { a: 1 }, ['api'])).kind, 'news');
    assert.equal(r.receive(signed('c', { a: 1 }, ['api'])).kind, 'news');
    const picks = Array.from({ length: 10 }, () => {
      const route = r.choose('api');
      assert.equal(route?.kind, 'remote');
      const siteId = route.kind === 'remote' ? route.siteId : '';
      r.track(siteId)(); // opened and finished at once: outstanding stays 0
      return siteId;
    });
    assert.equal(picks.filter((s) => s === id('b')).length, 5);
    const excluded = r.choose('api', new Set([id('b')]));
    assert.equal(excluded?.kind === 'remote' && excluded.via, toC);
    r.setLocal(['api']);
    assert.deepEqual(r.choose('api'), { kind: 'local' });
    assert.equal(r.choose('nothing'), undefined);
  });

  it('sends streams for a far site through the right neighbour, and stops once it is cut off', () => {
    const r = routesOf('a');
    const toB = peer(id('b'));
    r.addNeighbour(toB, 1);
    r.receive(signed('b', { a: 1, c: 1 }));
    r.receive(signed('c', { b: 1 }, ['db']));
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
    const r = routesOf('a');
    const toB = peer(id('b'));
    const toB2 = peer(id('b'));
    const toC = peer(id('c'));
    r.addNeighbour(toB, 1);
    r.addNeighbour(toB2, 1);
    r.addNeighbour(toC, 5);
    r.receive(signed('b', { a: 1 }, ['api']));
    r.receive(signed('c', { a: 5 }, ['api']));
    toB.accepting = false; // one of two links to b is draining: the other takes b's streams
    assert.equal(r.nextHop(id('b')), toB2);
    toB2.accepting = false; // b is draining: c, though dearer, gets the stream
    assert.equal(r.nextHop(id('b')), undefined);
    const route = r.choose('api');
    assert.equal(route?.kind === 'remote' && route.via, toC);
    toC.accepting = false;
    assert.equal(r.choose('api'), undefined);
  });

  it('re-issues its own advert above a newer one of its own that it hears back', () => {
    const r = routesOf('a');
    const own = r.own();
    const heard = signed('a', {}, [], own.seq + 100);
    const received = r.receive(heard);
    assert.equal(received.kind, 'own');
    const flooded =
      received.kind === 'own' ? parseAdvertBody(received.flood.body, defaultSettings) : '';
    assert.ok(typeof flooded !== 'string' && flooded.seq > own.seq + 100);
    assert.equal(r.receive(received.kind === 'own' ? received.flood : heard).kind, 'old');
  });

  it('refuses unsigned, wrongly signed and out-of-bounds adverts and never stores them', () => {
    const r = routesOf('a');
    const good = signed('b', { a: 1 }, ['api']);
    const refused = (value: unknown): string => {
      const got = r.receive(value);
      assert.equal(got.kind, 'refused', JSON.stringify(got));
      return got.kind === 'refused' ? got.reason : '';
    };
    assert.match(refused(JSON.parse(good.body)), /body, key and sig/); // a bare, unsigned advert
    assert.match(refused({ ...good, key: sites.x!.key }), /not signed/); // someone else's key
    assert.match(refused({ ...good, sig: signed('x', {}).sig }), /not signed/);
    assert.match(refused(signed('b', { a: 1 }, ['api'], 2, 'x')), /not signed/); // x signs for b
    // A forged seq of 2^53 for another site, even validly signed by the forger's key:
    const huge = JSON.stringify({ ...JSON.parse(good.body), seq: 2 ** 53 });
    assert.match(refused({ ...good, body: huge }), /seq/);
    const overMax = { ...JSON.parse(good.body), seq: MAX_SEQ + 1 };
    assert.match(refused(signAdvert(overMax, sites.b!.ca.keyPem, sites.b!.key)), /seq/);
    assert.match(refused(signed('b', { a: -1 })), /links/);
    assert.match(refused(signed('b', { a: 1e308 })), /links/);
    const lots = Array.from({ length: 1001 }, (_, i) => `svc-${i}`);
    assert.match(refused(signed('b', { a: 1 }, lots)), /addresses|maxAdvertBytes/);
    assert.equal(r.topology.get(id('b')), undefined);
    assert.equal(r.receive(good).kind, 'news');
    assert.equal(r.receive(good).kind, 'old'); // verified once; copies are dropped unchecked
  });

  it("a forged own advert cannot push this site's seq up, and its seq stays bounded", () => {
    const r = routesOf('a');
    const own = r.own();
    const forged = signed('a', {}, [], MAX_SEQ, 'x'); // claims to be a, signed by x
    assert.equal(r.receive({ ...forged, key: sites.x!.key }).kind, 'refused');
    assert.equal(r.own().seq, own.seq);
    r.setLocal(['api']);
    assert.ok(r.own().seq > own.seq && r.own().seq <= MAX_SEQ);
  });

  it('holds at most maxSites sites', () => {
    const r = routesOf('a', { ...defaultSettings, maxSites: 2 });
    assert.equal(r.receive(signed('b', { a: 1 })).kind, 'news');
    const full = r.receive(signed('c', { a: 1 }));
    assert.equal(full.kind, 'refused');
    assert.equal(r.topology.all().length, 2);
  });

  it("carries each address's ports in the signed advert; served() unions them over reachable sites", () => {
    const r = routesOf('a');
    r.addNeighbour(peer(id('b')), 1);
    const own = r.setLocal(['api', 'db'], { api: [443, 80, 80], db: [5432] });
    const body = parseAdvertBody(own.body, defaultSettings);
    assert.ok(typeof body !== 'string');
    assert.deepEqual(body.ports, { api: [80, 443], db: [5432] });
    const withPorts = (ports: unknown): SignedAdvert => {
      const advertBody = { siteId: id('b'), siteName: 'b', seq: 1, links: { [id('a')]: 1 } };
      return signAdvert(
        { ...advertBody, addresses: ['api', 'web'], ports } as SiteAdvert,
        sites.b!.ca.keyPem,
        sites.b!.key,
      );
    };
    for (const bad of [
      { nope: [80] },
      { api: [] },
      { api: [0] },
      { api: [65_536] },
      { api: [80, 80] },
      { api: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
      { api: '80' },
      [80],
    ]) {
      const got = r.receive(withPorts(bad));
      assert.equal(got.kind, 'refused', JSON.stringify(bad));
      assert.match(got.kind === 'refused' ? got.reason : '', /ports table/);
    }
    assert.equal(r.receive(withPorts({ api: [8080] })).kind, 'news');
    assert.deepEqual(r.served(), [
      { address: 'api', ports: [80, 443, 8080], sites: ['a', 'b'] },
      { address: 'db', ports: [5432], sites: ['a'] },
      { address: 'web', ports: [], sites: ['b'] },
    ]);
    // An advert of before (no ports) still reads, and its addresses list no port.
    const old = routesOf('a');
    old.addNeighbour(peer(id('b')), 1);
    assert.equal(old.receive(signed('b', { a: 1 }, ['api'])).kind, 'news');
    assert.deepEqual(old.served(), [{ address: 'api', ports: [], sites: ['b'] }]);
  });
});
