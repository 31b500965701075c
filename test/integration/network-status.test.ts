/**
 * Proves `skiff network status` (text and -o json) and `skiff status` show the service
 * network: in a chain A - B - C (B's link to C at cost 3), every site with its addresses,
 * every link in both directions with its cost and a measured round-trip time, and every
 * address with the sites serving it; and that both still answer while C is down, showing C
 * unreachable.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkStatus, SiteStatus } from '../../src/admin/api.js';
import { routesWhere, useNetwork, waitForRoutes } from '../helpers/network.js';
import { startEchoServer } from '../helpers/tcp.js';
import { pollUntil } from '../helpers/wait.js';

const EXPECTED_LINKS = [
  ['a', 'b', 1],
  ['b', 'a', 1],
  ['b', 'c', 3],
  ['c', 'b', 3],
] as const;

describe('network status: every site, link and address as a site sees them', {
  timeout: 120_000,
}, () => {
  const net = useNetwork(['a', 'b', 'c'], {
    links: [
      ['a', 'b'],
      ['b', 'c', 3],
    ],
    setup: async (n) => {
      await n.expose('a', 'alpha', n.track(await startEchoServer()).port);
      await n.expose('c', 'gamma', n.track(await startEchoServer()).port);
      await Promise.all(
        n.sites.map((router) =>
          waitForRoutes(
            router,
            routesWhere({ reachable: ['a', 'b', 'c'], served: { alpha: ['a'], gamma: ['c'] } }),
          ),
        ),
      );
    },
  });

  test('-o json at each end: sites with addresses, links both ways with cost and rtt, addresses', {
    timeout: 30_000,
  }, async () => {
    for (const name of ['a', 'c']) {
      const router = net().site(name);
      // RTTs come from link pings (every second here): poll until this site's own links have one.
      const view = await pollUntil(
        `${name}: its own links in network status to have an rtt`,
        async () => {
          const v = await router.json<NetworkStatus>(['network', 'status']);
          const own = v.links.filter((l) => l.from === name);
          return own.length > 0 && own.every((l) => l.rttMs !== undefined) && v;
        },
      );
      const sites = view.sites.map((s) => [s.name, s.reachable, [...s.addresses].sort()]).sort();
      assert.deepEqual(
        sites,
        [
          ['a', true, ['alpha']],
          ['b', true, []],
          ['c', true, ['gamma']],
        ],
        `${name}: sites`,
      );
      assert.equal(
        new Set(view.sites.map((s) => s.id)).size,
        3,
        `${name}: three distinct site ids`,
      );
      const links = view.links.map((l) => [l.from, l.to, l.cost]).sort();
      assert.deepEqual(
        links,
        EXPECTED_LINKS.map((l) => [...l]),
        `${name}: links`,
      );
      const noRtt = view.links
        .filter((l) => l.rttMs === undefined)
        .map((l) => `${l.from}->${l.to}`);
      assert.deepEqual(noRtt, [], `${name}: every link in the network shows a round-trip time`);
      for (const l of view.links) {
        assert.ok(
          l.rttMs! >= 0 && l.rttMs! < 1000,
          `${name}: rtt of ${l.from}->${l.to}: ${l.rttMs}`,
        );
      }
      const addresses = view.addresses.map((a) => [a.address, [...a.sites].sort()]).sort();
      assert.deepEqual(
        addresses,
        [
          ['alpha', ['a']],
          ['gamma', ['c']],
        ],
        `${name}: addresses`,
      );
    }
  });

  test('text: sites, links with cost and rtt, addresses; `status` shows the routing view', {
    timeout: 30_000,
  }, async () => {
    const a = net().site('a');
    const text = await a.cli(['network', 'status']);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.split('\n');
    const row = (...cells: string[]) =>
      lines.find((line) => cells.every((c, i) => line.trim().split(/\s+/)[i] === c));
    for (const site of ['a', 'b', 'c'])
      assert.ok(row(site), `a row for site ${site}:\n${text.stdout}`);
    assert.match(row('a')!, /\byes\b.*\balpha\b/, 'site a: reachable, serves alpha');
    assert.match(row('c')!, /\byes\b.*\bgamma\b/, 'site c: reachable, serves gamma');
    for (const [from, to, cost] of EXPECTED_LINKS) {
      const line = row(from, to, String(cost));
      assert.ok(line, `a link row ${from} ${to} ${cost}:\n${text.stdout}`);
      // Whether remote links carry an rtt is the JSON test's concern; A's own link must.
      if (from === 'a') {
        assert.match(line, /\d(\.\d)?(ms|s)\s*$/, `link ${from}->${to} shows an rtt: ${line}`);
      }
    }
    assert.ok(row('alpha', 'a'), `address alpha served by a:\n${text.stdout}`);
    assert.ok(row('gamma', 'c'), `address gamma served by c:\n${text.stdout}`);

    const status = await a.json<SiteStatus>(['status']);
    const addresses = status.addresses.map((x) => [x.address, [...x.sites].sort()]).sort();
    assert.deepEqual(
      addresses,
      [
        ['alpha', ['a']],
        ['gamma', ['c']],
      ],
      'status at A: addresses',
    );
    const statusText = await a.cli(['status']);
    assert.equal(statusText.code, 0, statusText.stderr);
    assert.match(
      statusText.stdout,
      /^\s*gamma\s+c\s*$/m,
      `status text lists gamma at c:\n${statusText.stdout}`,
    );
  });

  test('with C down: both commands still answer at A, C is shown unreachable and serves nothing', {
    timeout: 30_000,
  }, async () => {
    const n = net();
    const [a, c] = [n.site('a'), n.site('c')];
    const since = a.mark();
    await c.kill();
    await waitForRoutes(a, routesWhere({ unreachable: ['c'], served: { gamma: [] } }), { since });

    const view = await a.json<NetworkStatus>(['network', 'status']);
    const siteC = view.sites.find((s) => s.name === 'c');
    assert.ok(siteC, `C is still listed: ${JSON.stringify(view.sites)}`);
    assert.equal(siteC.reachable, false, 'C is shown unreachable');
    assert.deepEqual(
      view.sites
        .filter((s) => s.name !== 'c')
        .map((s) => [s.name, s.reachable])
        .sort(),
      [
        ['a', true],
        ['b', true],
      ],
    );
    assert.ok(
      !view.addresses.some((x) => x.sites.includes('c')),
      `no address is served by C: ${JSON.stringify(view.addresses)}`,
    );
    const text = await a.cli(['network', 'status']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^\s*c\s+\S+\s+no\b/m,
      `the text shows C unreachable:\n${text.stdout}`,
    );

    const status = await a.json<SiteStatus>(['status']);
    assert.ok(
      !status.addresses.some((x) => x.sites.includes('c')),
      `status at A: no address served by C: ${JSON.stringify(status.addresses)}`,
    );
  });
});
