/**
 * Proves no loops and no black holes during churn. A - B - C carries `svc` to C (cost 2);
 * A - D also serves it (cost 5), so there is always somewhere to go. The B - C link runs
 * through a proxy in front of C, cut and restored 20 times while 50 lanes of streams run
 * (each lane opens stream after stream, each a few hundred KiB to 2 MiB, paced with pauses,
 * through a listener at A). Every stream must either complete byte-exact (sha256 at both
 * ends) or be reset; none may hang (each has its own deadline) or end cleanly short.
 * Measures convergence at A after each cut (from the cut) and each restore (from B's
 * `link up`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Network, routesWhere, waitForRoutes } from '../helpers/network.js';
import { seededRandom } from '../helpers/random.js';
import { match } from '../helpers/router.js';
import { type EchoServer, KiB, MiB, startEchoServer } from '../helpers/tcp.js';
import { echoStream, type StreamReport } from '../helpers/traffic.js';
import { withTimeout } from '../helpers/wait.js';

const FLAPS = 20;
const LANES = 50;
const STREAM_DEADLINE_MS = 30_000;
const CONVERGENCE_LIMIT_MS = 2_000;

function stats(values: number[]): string {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `min ${sorted[0]!.toFixed(0)} / median ${at(0.5).toFixed(0)} / max ${sorted.at(-1)!.toFixed(0)} ms (n=${sorted.length})`;
}

describe('flapping: a link on the preferred path cut and restored 20 times under load', {
  timeout: 180_000,
}, () => {
  let net: Network | undefined;
  const servers: Record<string, EchoServer> = {};
  let port = 0;

  before(
    async () => {
      const n = await Network.start(['a', 'b', { name: 'c', proxied: true }, 'd']);
      net = n;
      await n.linkAll([
        ['a', 'b'],
        ['b', 'c'],
        ['a', 'd', 5],
      ]);
      for (const site of ['c', 'd']) {
        servers[site] = n.track(await startEchoServer({ greeting: site }));
        await n.expose(site, 'svc', servers[site].port);
      }
      await waitForRoutes(n.site('a'), routesWhere({ served: { svc: ['c', 'd'] } }));
      port = await n.listen('a', 'svc');
    },
    { timeout: 60_000 },
  );

  after(() => net?.dispose(), { timeout: 30_000 });

  test(`${FLAPS} cuts while ${LANES} lanes stream: every stream byte-exact or reset, none hangs`, {
    timeout: 150_000,
  }, async (t) => {
    const n = net!;
    const [a, b] = [n.site('a'), n.site('b')];
    const proxy = n.proxy('c');
    const seed = Date.now() % 100_000;
    const rand = seededRandom(seed);
    t.diagnostic(`schedule seed ${seed}`);

    let flapping = true;
    const reports: StreamReport[] = [];
    let streamSeed = 10_000;
    const lane = async (): Promise<void> => {
      while (flapping) {
        const bytes = Math.floor((256 * KiB + rand() * (1.75 * MiB)) / KiB) * KiB;
        reports.push(
          await echoStream(port, {
            bytes,
            seed: streamSeed++,
            pace: { every: 16 * KiB, pauseMs: 20 + Math.floor(rand() * 40) },
            deadlineMs: STREAM_DEADLINE_MS,
          }),
        );
      }
    };
    const lanes = Array.from({ length: LANES }, () => lane());

    const downMs: number[] = [];
    const upMs: number[] = [];
    const started = performance.now();
    try {
      for (let flap = 1; flap <= FLAPS; flap++) {
        const sinceA = a.mark();
        const cutAt = performance.now();
        await proxy.cut();
        const down = await waitForRoutes(
          a,
          routesWhere({ unreachable: ['c'], served: { svc: ['d'] } }),
          { since: sinceA, timeoutMs: 10_000 },
        );
        downMs.push(down.at - cutAt);
        await delay(150 + rand() * 150); // stays cut a while: streams meet the outage

        const sinceA2 = a.mark();
        const sinceB = b.mark();
        await proxy.restore();
        const linkUp = await b.waitForEvent(match('link up', { link: 'c' }), {
          since: sinceB,
          timeoutMs: 10_000,
        });
        const up = await waitForRoutes(
          a,
          routesWhere({ reachable: ['c'], served: { svc: ['c', 'd'] } }),
          { since: sinceA2, timeoutMs: 10_000 },
        );
        upMs.push(up.at - b.receivedTime(linkUp));
        await delay(400 + rand() * 500); // up a while: streams cross B - C again
      }
    } finally {
      flapping = false;
    }
    const flapSeconds = (performance.now() - started) / 1000;
    await withTimeout(Promise.all(lanes), STREAM_DEADLINE_MS + 10_000, 'the lanes to finish');

    const byOutcome = new Map<string, number>();
    for (const r of reports) {
      const key = `${r.outcome}${r.site ? `@${r.site}` : ''}`;
      byOutcome.set(key, (byOutcome.get(key) ?? 0) + 1);
    }
    const summary = [...byOutcome]
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const eofFirst = reports.filter((r) => r.error?.startsWith('EOF')).length;
    t.diagnostic(
      `${FLAPS} flaps in ${flapSeconds.toFixed(1)} s; ${reports.length} streams: ${summary} ` +
        `(of the resets, ${eofFirst} reached the client as EOF first, then EPIPE/ECONNRESET)`,
    );
    t.diagnostic(`convergence after link down (cut -> A drops C): ${stats(downMs)}`);
    t.diagnostic(`convergence after link up (B link up -> A routes to C): ${stats(upMs)}`);

    const bad = reports.filter((r) => r.outcome !== 'complete' && r.outcome !== 'reset');
    assert.deepEqual(
      bad.slice(0, 5).map((r) => ({
        outcome: r.outcome,
        site: r.site,
        echoed: r.echoed.bytes,
        expected: r.expected.bytes,
        startedAt: new Date(r.startedAt).toISOString(),
        ms: Math.round(r.ms),
      })),
      [],
      `${bad.length} streams neither completed nor were reset (${summary}); the first of them`,
    );
    const complete = reports.filter((r) => r.outcome === 'complete');
    assert.ok(
      complete.some((r) => r.site === 'c'),
      `some streams completed across the flapping link (${summary})`,
    );
    for (const r of complete) {
      const atServer = servers[r.site]!.received;
      assert.ok(
        atServer.some((x) => x.sha256 === r.expected.sha256 && x.bytes === r.expected.bytes),
        `the server at ${r.site} received the whole stream byte-exact`,
      );
    }
    assert.ok(
      Math.max(...downMs) <= CONVERGENCE_LIMIT_MS,
      `A kept routing to C after a cut for ${Math.max(...downMs).toFixed(0)} ms`,
    );
  });
});
