/**
 * Proves failover between two sites serving the same address (B and C, both linked to A,
 * listener at A):
 * - a connector whose target is gone (refuses): every new connection still succeeds, at B;
 * - a router killed with SIGKILL: A's routes drop it within 2 s of the kill, no new stream
 *   goes to it after that, and the streams that were running to it are reset (not hung,
 *   not ended cleanly short); the streams to B carry on byte-exact;
 * - the killed router restarted (`site run` only): it rejoins and serves again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { routesWhere, useNetwork, waitForRoutes } from '../helpers/network.js';
import { KiB, MiB, startEchoServer } from '../helpers/tcp.js';
import { countAnswers, echoStream, formatCounts, type StreamReport } from '../helpers/traffic.js';
import { withTimeout } from '../helpers/wait.js';

const CONVERGENCE_LIMIT_MS = 2_000;
const LONG_STREAMS = 10;

describe('failover between two sites serving one address', { timeout: 150_000 }, () => {
  const net = useNetwork(['a', 'b', 'c'], {
    links: [
      ['b', 'a'],
      ['c', 'a'],
    ],
  });

  /** Greeting echo servers at B and C exposed as `address`; a listener for it at A. */
  async function serveAtBoth(address: string) {
    const n = net();
    const servers = {
      b: n.track(await startEchoServer({ greeting: 'b' })),
      c: n.track(await startEchoServer({ greeting: 'c' })),
    };
    await n.expose('b', address, servers.b.port);
    await n.expose('c', address, servers.c.port);
    await waitForRoutes(n.site('a'), routesWhere({ served: { [address]: ['b', 'c'] } }));
    return { servers, port: await n.listen('a', address) };
  }

  test("a connector's target refusing: every new connection succeeds via the other site", {
    timeout: 30_000,
  }, async (t) => {
    const { servers, port } = await serveAtBoth('refuse');
    const before = await countAnswers(port, 10);
    assert.ok(
      (before.get('c') ?? 0) > 0,
      `C answers while its target runs: ${formatCounts(before)}`,
    );

    await servers.c.close(); // C's connector now dials a closed port: refused
    const counts = await countAnswers(port, 40);
    t.diagnostic(`with C's target closed, 40 connections: ${formatCounts(counts)}`);
    assert.equal(counts.get('b'), 40, `every connection answered by B: ${formatCounts(counts)}`);
  });

  test('a router killed: gone from routes within 2 s, no new stream to it, its streams reset; restarted, it serves again', {
    timeout: 90_000,
  }, async (t) => {
    const n = net();
    const [a, c] = [n.site('a'), n.site('c')];
    const { servers, port } = await serveAtBoth('svc');

    // Long streams (8 MiB each, paced), balanced over B and C; wait until each has reached a site.
    const reached: Array<Promise<string>> = [];
    const streams: Array<Promise<StreamReport>> = [];
    for (let i = 0; i < LONG_STREAMS; i++) {
      let site!: (name: string) => void;
      reached.push(new Promise((resolve) => (site = resolve)));
      streams.push(
        echoStream(port, {
          bytes: 8 * MiB,
          seed: 500 + i,
          pace: { every: 128 * KiB, pauseMs: 40 },
          deadlineMs: 30_000,
          onSite: site,
        }),
      );
    }
    const sites = await withTimeout(
      Promise.all(reached),
      10_000,
      'every long stream to reach a site',
    );
    const onC = sites.filter((s) => s === 'c').length;
    t.diagnostic(`long streams: ${onC} at C, ${LONG_STREAMS - onC} at B`);
    assert.ok(onC > 0 && onC < LONG_STREAMS, `streams are spread over B and C: ${sites.join(',')}`);

    const since = a.mark();
    const killedAt = performance.now();
    await c.kill();
    const gone = await waitForRoutes(
      a,
      routesWhere({ unreachable: ['c'], served: { svc: ['b'] } }),
      {
        since,
        timeoutMs: 10_000,
      },
    );
    const convergence = gone.at - killedAt;
    t.diagnostic(
      `convergence after site killed: A dropped C ${convergence.toFixed(0)} ms after SIGKILL`,
    );
    assert.ok(
      convergence <= CONVERGENCE_LIMIT_MS,
      `A still routed to C ${convergence.toFixed(0)} ms after the kill`,
    );
    const afterKill = await countAnswers(port, 20);
    assert.equal(
      afterKill.get('b'),
      20,
      `no new stream to the killed site: ${formatCounts(afterKill)}`,
    );

    const reports = await Promise.all(streams);
    for (const [i, r] of reports.entries()) {
      const what = `long stream ${i} (at ${sites[i]}): ${r.outcome} after ${r.echoed.bytes} of ${r.expected.bytes} bytes ${r.error ?? ''}`;
      if (sites[i] === 'c') assert.equal(r.outcome, 'reset', what);
      else assert.equal(r.outcome, 'complete', what);
    }
    // B's server saw every stream it served end whole (its own digests).
    const atB = reports.filter((_, i) => sites[i] === 'b').map((r) => r.expected);
    for (const sent of atB) {
      assert.ok(
        servers.b.received.some((x) => x.sha256 === sent.sha256 && x.bytes === sent.bytes),
        'B received a whole stream byte-exact',
      );
    }

    const restartAt = performance.now();
    const sinceA = a.mark();
    await c.start(); // no other command: C redials A from its state dir
    const back = await waitForRoutes(
      a,
      routesWhere({ reachable: ['c'], served: { svc: ['b', 'c'] } }),
      { since: sinceA, timeoutMs: 15_000 },
    );
    t.diagnostic(
      `rejoin: A routed to C again ${(back.at - restartAt).toFixed(0)} ms after the restart began`,
    );
    const rejoined = await countAnswers(port, 20);
    t.diagnostic(`after the restart, 20 connections: ${formatCounts(rejoined)}`);
    assert.ok((rejoined.get('c') ?? 0) >= 5, `C serves again: ${formatCounts(rejoined)}`);
  });
});
