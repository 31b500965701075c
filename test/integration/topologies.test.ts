/**
 * Proves routing beyond a chain:
 * - star: a hub and 4 spokes, each spoke linked to the hub; a service at one spoke is reached
 *   from every other spoke (two hops, through the hub), byte-exact;
 * - ring of 4 (r1 -> r2 -> r3 -> r4 -> r1): every site reaches a service at every other
 *   site; with the r1 - r2 link cut (a proxy in front of r2), every site still reaches every
 *   other, the long way round.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NetworkStatus } from '../../src/admin/api.js';
import { Network, routesWhere, waitForRoutes } from '../helpers/network.js';
import { match } from '../helpers/router.js';
import { KiB, startEchoServer } from '../helpers/tcp.js';
import { echoStream, whoAnswers } from '../helpers/traffic.js';
import { pollUntil } from '../helpers/wait.js';

/** A 256 KiB echo through `port` answered by `site`, byte-exact. */
async function assertReached(
  port: number,
  site: string,
  seed: number,
  from: string,
): Promise<void> {
  assert.equal(await whoAnswers(port), site, `${from} -> ${site}: answered by the right site`);
  const r = await echoStream(port, { bytes: 256 * KiB, seed, deadlineMs: 10_000 });
  assert.equal(r.outcome, 'complete', `${from} -> ${site}: ${r.outcome} ${r.error ?? ''}`);
  assert.equal(r.site, site);
}

describe('star: a hub and 4 spokes', { timeout: 90_000 }, () => {
  const spokes = ['spoke-1', 'spoke-2', 'spoke-3', 'spoke-4'];
  let net: Network | undefined;

  before(
    async () => {
      net = await Network.start(['hub', ...spokes]);
      await net.linkAll(spokes.map((spoke) => [spoke, 'hub'] as const));
    },
    { timeout: 60_000 },
  );

  after(() => net?.dispose(), { timeout: 30_000 });

  test('a service at spoke-1 is reached from every other spoke, byte-exact', {
    timeout: 30_000,
  }, async () => {
    const n = net!;
    const server = n.track(await startEchoServer({ greeting: 'spoke-1' }));
    await n.expose('spoke-1', 'spoke-svc', server.port);
    const others = spokes.slice(1);
    await Promise.all(
      others.map((s) =>
        waitForRoutes(n.site(s), routesWhere({ served: { 'spoke-svc': ['spoke-1'] } })),
      ),
    );
    for (const [i, spoke] of others.entries()) {
      const port = await n.listen(spoke, 'spoke-svc');
      await assertReached(port, 'spoke-1', 40 + i, spoke);
    }
  });
});

describe('ring of 4: r1 -> r2 -> r3 -> r4 -> r1', { timeout: 120_000 }, () => {
  const ring = ['r1', 'r2', 'r3', 'r4'];
  let net: Network | undefined;
  /** ports[from][to]: the listener at `from` for the service at `to`. */
  const ports: Record<string, Record<string, number>> = {};

  before(
    async () => {
      const n = await Network.start(['r1', { name: 'r2', proxied: true }, 'r3', 'r4']);
      net = n;
      await n.linkAll([
        ['r1', 'r2'],
        ['r2', 'r3'],
        ['r3', 'r4'],
        ['r4', 'r1'],
      ]);
      for (const site of ring) {
        const server = n.track(await startEchoServer({ greeting: site }));
        await n.expose(site, `svc-${site}`, server.port);
      }
      const served = Object.fromEntries(ring.map((s) => [`svc-${s}`, [s]]));
      for (const from of ring) {
        const others = Object.fromEntries(
          Object.entries(served).filter(([a]) => a !== `svc-${from}`),
        );
        await waitForRoutes(n.site(from), routesWhere({ served: others }));
        ports[from] = {};
        for (const to of ring.filter((s) => s !== from)) {
          ports[from][to] = await n.listen(from, `svc-${to}`);
        }
      }
    },
    { timeout: 60_000 },
  );

  after(() => net?.dispose(), { timeout: 30_000 });

  async function assertAllPairs(seedBase: number): Promise<void> {
    let seed = seedBase;
    for (const from of ring) {
      for (const to of ring.filter((s) => s !== from)) {
        await assertReached(ports[from]![to]!, to, seed++, from);
      }
    }
  }

  test('every site reaches a service at every other site', { timeout: 30_000 }, async () => {
    await assertAllPairs(100);
  });

  test('with the r1 - r2 link cut, every site still reaches every other the long way round', {
    timeout: 45_000,
  }, async (t) => {
    const n = net!;
    const [r1, r2] = [n.site('r1'), n.site('r2')];
    const since1 = r1.mark();
    const since2 = r2.mark();
    const cutAt = performance.now();
    await n.proxy('r2').cut();
    await Promise.all([
      r1.waitForEvent(match('link down', { link: 'r2' }), { since: since1 }),
      r2.waitForEvent(match('link down', { link: 'r1' }), { since: since2 }),
    ]);
    // Nothing a router computes as reachable changes, so no `routes changed` to await: poll
    // until no site's map has the cut link any more (in either direction).
    const cut = (l: { from: string; to: string }) =>
      (l.from === 'r1' && l.to === 'r2') || (l.from === 'r2' && l.to === 'r1');
    await Promise.all(
      n.sites.map((router) =>
        pollUntil(`${router.name} to drop the r1 - r2 link from its map`, async () => {
          const view = await router.json<NetworkStatus>(['network', 'status']);
          return !view.links.some(cut);
        }),
      ),
    );
    t.diagnostic(
      `convergence after link down (ring): every map dropped r1 - r2 within ${(performance.now() - cutAt).toFixed(0)} ms of the cut (polled)`,
    );
    for (const router of n.sites) {
      await waitForRoutes(
        router,
        routesWhere({ reachable: ring.filter((s) => s !== router.name) }),
      );
    }
    await assertAllPairs(200);
  });
});
