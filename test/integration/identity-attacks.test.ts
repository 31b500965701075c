/**
 * Issue 9 points 1, 2, 3, 7, 12 against real routers: A issues, B dials; B exposes `svc`
 * (a sink-and-source server) and A listens for it. A hostile peer (a real credential from
 * a real redemption at A, its site id proven with its own CA) then impersonates B, sends
 * bad HELLO costs, forged adverts and a flood of invented sites; after each, a 1 MiB
 * exchange A -> B -> svc must arrive byte-exact both ways.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { signWithSiteKey, spkiBase64OfCert } from '../../src/pki/index.js';
import { encodeControl, encodePing } from '../../src/protocol/encode.js';
import { FrameType } from '../../src/protocol/frame.js';
import { type Credential, HostilePeer, redeemCredential } from '../helpers/hostile-peer.js';
import { exposeAndListen, findLink, SITE_B, useLinkedSites } from '../helpers/pair.js';
import { MiB, type SinkSourceServer, startSinkSourceServer } from '../helpers/tcp.js';
import { assertExchanged, exchange } from '../helpers/traffic.js';
import { pollUntil, withTimeout } from '../helpers/wait.js';

let seed = 1;

describe('identity attacks: a hostile linked peer cannot speak for another site', {
  timeout: 240_000,
}, () => {
  let svc: SinkSourceServer;
  let port = 0;
  const fixture = useLinkedSites({
    setup: async ({ a, b }, servers) => {
      svc = await startSinkSourceServer(1 * MiB, 99);
      servers.push(svc);
      port = await exposeAndListen(b, a, 'svc', svc.port);
    },
  });

  async function legitStreamFlows(what: string): Promise<void> {
    assertExchanged(await exchange(port, svc, 1 * MiB, seed++), what);
  }

  async function hostile(name: string): Promise<{ peer: HostilePeer; cred: Credential }> {
    const { a, workDir } = fixture.sites();
    const dir = join(workDir, name);
    await mkdir(dir, { recursive: true });
    const cred = await redeemCredential(a, dir, { siteName: name });
    return { peer: await HostilePeer.dial(cred), cred };
  }

  /** Resolves once A has handled everything sent before: its PONG comes after. */
  async function roundTrip(peer: HostilePeer): Promise<void> {
    await peer.send(encodePing(Buffer.alloc(8)));
    await peer.waitFor(FrameType.PONG);
  }

  test("a HELLO naming another site is refused, and that site's streams never reach the peer", async () => {
    const { a, b } = fixture.sites();
    const bId = (await b.status()).site.id;
    const { peer } = await hostile('mallory');
    await peer.hello({ siteId: bId, siteName: SITE_B });
    const closed = await withTimeout(peer.closed, 10_000, 'A closes the impersonating link');
    assert.ok(closed, 'closed');
    const link = await pollUntil('A reports why', async () => {
      const l = await findLink(a, 'mallory');
      return l?.lastError ? l : undefined;
    });
    assert.match(link.lastError!, /credential is for site/);
    await legitStreamFlows('after the impersonation');
    assert.equal(peer.frames.filter((f) => f.type === FrameType.OPEN).length, 0);
  });

  for (const cost of [-1, 1e308, 'abc', 0]) {
    test(`a HELLO with cost ${JSON.stringify(cost)} is refused with the reason in link status`, async () => {
      const { a } = fixture.sites();
      const name = `cost-${String(cost).replace(/[^a-z0-9]/g, 'x')}`;
      const { peer, cred } = await hostile(name);
      await peer.hello({ cost }, cred.identity);
      await withTimeout(peer.closed, 10_000, 'A closes the link');
      const link = await pollUntil('A reports why', async () => {
        const l = await findLink(a, name);
        return l?.lastError ? l : undefined;
      });
      assert.match(link.lastError!, /hello cost .* is not a whole number from 1 to 1000000/);
      await legitStreamFlows(`after cost ${cost}`);
    });
  }

  test('forged adverts (unsigned, wrong key, seq 2^53) are ignored and svc stays reachable', async () => {
    const { a, b } = fixture.sites();
    const bId = (await b.status()).site.id;
    const { peer, cred } = await hostile('forger');
    await peer.hello({}, cred.identity);
    await peer.waitFor(FrameType.CONTROL);
    const body = { siteId: bId, siteName: SITE_B, seq: 2 ** 53, links: {}, addresses: [] };
    const signed = (advert: object) => {
      const text = JSON.stringify(advert);
      const sig = signWithSiteKey(cred.siteCa.keyPem, Buffer.from(text));
      return { body: text, key: spkiBase64OfCert(cred.siteCa.certPem), sig };
    };
    const wrongKey = signed(body); // B's id, the forger's key
    const legalSeq = signed({ ...body, seq: 2 ** 47 });
    await peer.send(
      encodeControl({ type: 'adverts', adverts: [body] }), // the original attack: unsigned
      encodeControl({ type: 'adverts', adverts: [wrongKey, legalSeq] }),
    );
    await roundTrip(peer);
    const network = await a.json<{ addresses: { address: string; sites: string[] }[] }>([
      'network',
      'status',
    ]);
    assert.deepEqual(network.addresses.find((x) => x.address === 'svc')?.sites, [SITE_B]);
    await legitStreamFlows('after forged adverts');
    peer.close();
  });

  test('a flood of invented sites is bounded and not relayed to a neighbour', async (t) => {
    const { a, b } = fixture.sites();
    const { peer, cred } = await hostile('flooder');
    await peer.hello({}, cred.identity);
    await peer.waitFor(FrameType.CONTROL);
    const rssBefore = await rssOf(a.pid!);
    const addresses = Array.from({ length: 10_000 }, (_, i) => `svc-${i}`);
    for (let i = 0; i < 200; i++) {
      const siteId = i.toString(16).padStart(32, '0');
      const advert = { siteId, siteName: `fake-${i}`, seq: 1, links: {}, addresses };
      await peer.send(encodeControl({ type: 'adverts', adverts: [advert] }));
    }
    await roundTrip(peer);
    const rssDuring = await rssOf(a.pid!);
    t.diagnostic(`flood: victim RSS ${rssBefore} -> ${rssDuring} MiB`);
    const sitesAtA = (await a.json<{ sites: unknown[] }>(['network', 'status'])).sites.length;
    const sitesAtB = (await b.json<{ sites: unknown[] }>(['network', 'status'])).sites.length;
    assert.ok(sitesAtA <= 3 + 7, `A holds ${sitesAtA} sites`); // a, b and the test's peers
    assert.ok(sitesAtB <= 3 + 7, `B heard of ${sitesAtB} sites`);
    assert.ok(rssDuring - rssBefore < 100, `RSS grew ${rssBefore} -> ${rssDuring} MiB`);
    await legitStreamFlows('after the flood');
    peer.close();
  });

  test('a failed store write while revoking does not end the router, and the grant stays', async () => {
    const { a, b } = fixture.sites();
    assert.ok((await a.links()).some((l) => l.direction === 'in' && l.name === SITE_B));
    // Each grant file becomes a non-empty directory: deleting it fails (EISDIR).
    const grantsDir = join(a.stateDir, 'grants');
    for (const f of await readdir(grantsDir)) {
      await rename(join(grantsDir, f), join(grantsDir, `${f}.bak`));
      await mkdir(join(grantsDir, f, 'x'), { recursive: true });
    }
    await b.cli(['link', 'delete', (await b.links())[0]!.name]);
    await pollUntil(
      'A logs the failed revocation, or exits',
      async () => !a.running || a.events.some((e) => e.msg.includes('could not revoke')),
    );
    assert.ok(a.running, 'A is still running');
    assert.ok((await a.status()).site.name, 'A answers its admin API');
    assert.ok(
      (await a.links()).some((l) => l.direction === 'in' && l.name === SITE_B),
      'the grant is kept: its deletion was not durable',
    );
  });
});

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}
