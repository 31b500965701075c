/**
 * Proves how a new stream picks among sites serving the same address: B and C both serve
 * `bal`, both linked to A. At equal cost, 100 sequential short request/responses through a
 * listener at A are shared (neither gets fewer than 30). With C's link at cost 5, C gets
 * none while B is up; once B is gone, C serves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { routesWhere, useNetwork, waitForRoutes } from '../helpers/network.js';
import { startEchoServer } from '../helpers/tcp.js';
import { countAnswers, formatCounts } from '../helpers/traffic.js';

const CONNECTIONS = 100;
const FLOOR = 30;

describe('balance: one address at two sites', { timeout: 120_000 }, () => {
  let port = 0;

  const net = useNetwork(['a', 'b', 'c'], {
    links: [
      ['b', 'a'],
      ['c', 'a'],
    ],
    setup: async (n) => {
      for (const site of ['b', 'c']) {
        const server = n.track(await startEchoServer({ greeting: site }));
        await n.expose(site, 'bal', server.port);
      }
      await waitForRoutes(n.site('a'), routesWhere({ served: { bal: ['b', 'c'] } }));
      port = await n.listen('a', 'bal');
    },
  });

  test(`equal cost: ${CONNECTIONS} sequential connections are shared, neither site gets fewer than ${FLOOR}`, {
    timeout: 60_000,
  }, async (t) => {
    const counts = await countAnswers(port, CONNECTIONS);
    t.diagnostic(`equal cost, ${CONNECTIONS} connections: ${formatCounts(counts)}`);
    assert.equal(
      (counts.get('b') ?? 0) + (counts.get('c') ?? 0),
      CONNECTIONS,
      formatCounts(counts),
    );
    assert.ok((counts.get('b') ?? 0) >= FLOOR, `b answered too few: ${formatCounts(counts)}`);
    assert.ok((counts.get('c') ?? 0) >= FLOOR, `c answered too few: ${formatCounts(counts)}`);
  });

  test('C relinked at cost 5: every connection goes to B while B is up; with B gone, C answers', {
    timeout: 60_000,
  }, async (t) => {
    const n = net();
    const [a, b, c] = [n.site('a'), n.site('b'), n.site('c')];
    const since = a.mark();
    await c.cli(['link', 'delete', 'a']).then((r) => assert.equal(r.code, 0, r.stderr));
    await waitForRoutes(a, routesWhere({ unreachable: ['c'], served: { bal: ['b'] } }), {
      since,
    });
    await n.link('c', 'a', { cost: 5 });
    await waitForRoutes(a, routesWhere({ reachable: ['b', 'c'], served: { bal: ['b', 'c'] } }));

    const counts = await countAnswers(port, CONNECTIONS);
    t.diagnostic(`C at cost 5, ${CONNECTIONS} connections: ${formatCounts(counts)}`);
    assert.equal(counts.get('b'), CONNECTIONS, `all to the cheaper site: ${formatCounts(counts)}`);

    const down = a.mark();
    await b.kill();
    await waitForRoutes(a, routesWhere({ unreachable: ['b'], served: { bal: ['c'] } }), {
      since: down,
    });
    const after = await countAnswers(port, 10);
    assert.equal(after.get('c'), 10, `with B gone, C answers: ${formatCounts(after)}`);
  });
});
