/**
 * Proves streams cross several routers: in a chain A - B - C (A linked to B, B linked to C),
 * then A - B - C - D, a service at either end is reached through a listener at the other end,
 * 8 MiB each way in both directions at once, byte-exact (sha256 at both ends). Measures how
 * long the far end of the chain takes to learn of a new site once its link is up. Also proves
 * flow control holds end to end: a client that stops reading at A makes the target at C
 * block, and the transit router B holds no more than the per-stream bound.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SiteStatus } from '../../src/admin/api.js';
import {
  FAST_SETTINGS,
  type Network,
  routesWhere,
  useNetwork,
  waitForRoutes,
} from '../helpers/network.js';
import { match } from '../helpers/router.js';
import {
  connect,
  KiB,
  MiB,
  newProgress,
  receiveAll,
  startSinkSourceServer,
} from '../helpers/tcp.js';
import { assertExchanged, exchange } from '../helpers/traffic.js';
import { pollUntil, withTimeout } from '../helpers/wait.js';

const EACH_WAY = 8 * MiB;
/** Small windows so the flow-control bound is far below what the target offers. */
const STREAM_WINDOW = 256 * KiB;
/**
 * docs/protocol.md: a transit router holds at most three windows per stream (one received
 * beyond the next hop's credit, one within it, one handed to the link socket awaiting its
 * write callback) and one frame.
 */
const BOUND = 3 * STREAM_WINDOW + 64 * KiB;
const OFFERED = 64 * MiB;

/** Routers `sites` with small stream windows, A linked to B and B linked to C (a chain A - B - C). */
function useChain(sites: string[]): () => Network {
  return useNetwork(sites, {
    settings: { ...FAST_SETTINGS, streamWindow: STREAM_WINDOW },
    links: [
      ['a', 'b'],
      ['b', 'c'],
    ],
  });
}

describe('multi-hop: chains of 3 and 4 routers', { timeout: 150_000 }, () => {
  const net = useChain(['a', 'b', 'c', 'd']);

  /**
   * Services at `first` and `last` (8 MiB replies), a listener for each at the other end, then
   * both exchanges at once; every digest compared.
   */
  async function bothEnds(first: string, last: string): Promise<{ ms: number }> {
    const n = net();
    // Addresses per pair: each test's services are its own (an address is exposed once per site).
    const served = (site: string): string => `${first}${last}-at-${site}`;
    const atFirst = n.track(await startSinkSourceServer(EACH_WAY, 101));
    const atLast = n.track(await startSinkSourceServer(EACH_WAY, 102));
    await n.expose(first, served(first), atFirst.port);
    await n.expose(last, served(last), atLast.port);
    await Promise.all([
      waitForRoutes(n.site(first), routesWhere({ served: { [served(last)]: [last] } })),
      waitForRoutes(n.site(last), routesWhere({ served: { [served(first)]: [first] } })),
    ]);
    const toLast = await n.listen(first, served(last));
    const toFirst = await n.listen(last, served(first));

    const started = performance.now();
    const [forward, backward] = await withTimeout(
      Promise.all([
        exchange(toLast, atLast, EACH_WAY, 11),
        exchange(toFirst, atFirst, EACH_WAY, 12),
      ]),
      60_000,
      `8 MiB each way between ${first} and ${last}`,
    );
    assertExchanged(forward, `${first} -> ${last}`);
    assertExchanged(backward, `${last} -> ${first}`);
    assert.equal(forward.sent.bytes, EACH_WAY);
    assert.equal(backward.received.bytes, EACH_WAY);
    assert.equal(atLast.sessions.length, 1, `one stream reached ${last}`);
    assert.equal(atFirst.sessions.length, 1, `one stream reached ${first}`);
    return { ms: performance.now() - started };
  }

  test('chain of 3: services at A and C each reached from the other end, 8 MiB each way, byte-exact', {
    timeout: 60_000,
  }, async (t) => {
    const { ms } = await bothEnds('a', 'c');
    t.diagnostic(`A <-> C through B: 2 streams x 8 MiB each way in ${(ms / 1000).toFixed(2)} s`);
  });

  test('chain of 4: D joins at the end, A learns of it, services at A and D reached both ways, byte-exact', {
    timeout: 60_000,
  }, async (t) => {
    const n = net();
    const [a, c] = [n.site('a'), n.site('c')];
    const sinceA = a.mark();
    const sinceC = c.mark();
    await n.link('c', 'd');
    const [linkUp] = c.eventsSince(sinceC, match('link up', { peer: 'd' }));
    assert.ok(linkUp, 'C logged link up to D');
    const learnt = await waitForRoutes(a, routesWhere({ reachable: ['b', 'c', 'd'] }), {
      since: sinceA,
    });
    const convergence = learnt.at - c.receivedTime(linkUp);
    t.diagnostic(
      `convergence after link up: A (3 hops away) saw D reachable ${convergence.toFixed(0)} ms after C logged link up`,
    );

    const { ms } = await bothEnds('a', 'd');
    t.diagnostic(
      `A <-> D through B and C: 2 streams x 8 MiB each way in ${(ms / 1000).toFixed(2)} s`,
    );
  });
});

describe('multi-hop flow control: A - B - C with a reader at A that stops', {
  timeout: 120_000,
}, () => {
  // Fresh routers: buffered.peak counts from start, so no earlier traffic is in it.
  const net = useChain(['a', 'b', 'c']);

  test('a paused client at A blocks the target at C; transit router B holds at most the per-stream bound', {
    timeout: 60_000,
  }, async (t) => {
    const n = net();
    const a = n.site('a');
    const progress = newProgress();
    const target = n.track(await startSinkSourceServer(OFFERED, 55, progress));
    await n.expose('c', 'firehose', target.port);
    await waitForRoutes(a, routesWhere({ served: { firehose: ['c'] } }));
    const port = await n.listen('a', 'firehose');

    const client = await connect(port);
    client.pause(); // reads nothing until told

    const peaks = new Map<string, number>();
    const record = (statuses: SiteStatus[]): void => {
      for (const s of statuses) {
        peaks.set(s.site.name, Math.max(peaks.get(s.site.name) ?? 0, s.buffered.peak));
      }
    };
    let stable = 0;
    let last = '';
    const stalled = await pollUntil(
      'the target to stay blocked with every router holding steady',
      async () => {
        const statuses = await Promise.all(n.sites.map((r) => r.status()));
        record(statuses);
        const snapshot = `${progress.sent}/${statuses.map((s) => s.buffered.current).join('/')}`;
        stable = progress.blocked && progress.sent > 0 && snapshot === last ? stable + 1 : 0;
        last = snapshot;
        return stable >= 3 && progress.sent;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const peakText = [...peaks].map(([site, peak]) => `${site}=${peak}`).join(' ');
    t.diagnostic(
      `stalled after the target wrote ${(stalled / MiB).toFixed(2)} MiB of ${OFFERED / MiB} MiB; buffered.peak ${peakText} (bound ${BOUND})`,
    );
    assert.ok(stalled < OFFERED / 2, `the target paused early (${stalled} bytes written)`);
    const peak = peaks.get('b') ?? 0;
    assert.ok(peak <= BOUND, `transit router b: buffered.peak ${peak} > ${BOUND}`);

    const received = await withTimeout(receiveAll(client), 60_000, '64 MiB after resuming');
    client.end();
    const sent = await target.sessions[0]!.sent;
    assert.equal(received.bytes, OFFERED);
    assert.deepEqual(received, sent, 'the client received exactly what the target sent');
  });
});
