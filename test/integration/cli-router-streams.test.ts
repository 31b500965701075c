/**
 * A stream that fails is logged at info with its address, connector and reason, and a storm
 * of them cannot flood the log (issue 10 point 1): 5000 clients of a listener whose target
 * refuses give a bounded number of lines, whose `suppressed` counts add up to every one of
 * the 5000 failures. Before, each failure logged two warn lines ("local target refused",
 * "no connector reachable"): 10,000 lines, none with the connector.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createListener } from '../helpers/listeners.js';
import { pickPort } from '../helpers/ports.js';
import { type RouterEvent, RouterProcess } from '../helpers/router.js';
import { connect, destroyClients, outcome } from '../helpers/tcp.js';
import { Cleanup, pollUntil } from '../helpers/wait.js';

const STORM = 5000;
const CONCURRENCY = 50;
/** What stream-failures.ts allows: 10 lines per 10 s window, plus one count line per window. */
const LINES_PER_WINDOW = 10;
const WINDOW_MS = 10_000;

const failureLine = (e: RouterEvent) =>
  e.msg === 'stream failed' || e.msg === 'stream failures suppressed';

/** A client that connects, is closed by the router with nothing received, and closes too. */
async function refusedClient(port: number): Promise<void> {
  const socket = await connect(port);
  const ended = await outcome(socket);
  socket.end();
  assert.ok(ended.bytes === 0 && ended.error === undefined, 'closed cleanly, nothing received');
}

describe('failed streams are logged with their reason, rate-limited', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  cleanup.add(destroyClients);
  let router: RouterProcess;
  let deadPort: number;
  before(
    async () => {
      router = await RouterProcess.started({ name: 'site-s' });
      cleanup.add(() => router.dispose());
      deadPort = await pickPort(); // bindable, so nothing listens there
    },
    { timeout: 60_000 },
  );
  after(() => cleanup.run(), { timeout: 30_000 });

  test('a stream with no reachable connector: one info line naming the address and why', {
    timeout: 30_000,
  }, async () => {
    const { port } = await createListener(router, 'nowhere', { state: 'no-route' });
    const since = router.mark();
    await refusedClient(port);
    const line = await router.waitForEvent(
      (e) => e.msg === 'stream failed' && e.address === 'nowhere',
      { since },
    );
    assert.equal(line.level, 30, 'info');
    assert.match(String(line.reason), /no reachable site has a connector for "nowhere"/);
  });

  test(`${STORM} refused streams give a bounded number of lines that account for every failure`, {
    timeout: 150_000,
  }, async (t) => {
    const exposed = await router.cli(['expose', 'refused', '--target', `127.0.0.1:${deadPort}`]);
    assert.equal(exposed.code, 0, exposed.stderr);
    const { port } = await createListener(router, 'refused');
    const since = router.mark();
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < STORM) {
          next++;
          await refusedClient(port);
        }
      }),
    );
    const stormMs = Date.now() - started;

    // The last window's drops are counted on a closing line up to one window later.
    const counted = (events: RouterEvent[]) =>
      events.reduce(
        (n, e) => n + (e.msg === 'stream failed' ? 1 : 0) + Number(e.suppressed ?? 0),
        0,
      );
    await pollUntil(
      `the failure lines to account for all ${STORM} streams`,
      async () => counted(router.eventsSince(since, failureLine)) >= STORM,
      { timeoutMs: WINDOW_MS + 10_000, intervalMs: 250 },
    );
    const lines = router.eventsSince(since, failureLine);
    assert.equal(counted(lines), STORM, 'each failure counted once');

    const windows = Math.ceil((Date.now() - started) / WINDOW_MS) + 1;
    const bound = windows * (LINES_PER_WINDOW + 1);
    const all = router.eventsSince(since);
    assert.ok(
      all.length <= bound,
      `${all.length} log lines for ${STORM} failures in ${stormMs} ms: at most ${bound}`,
    );
    const first = lines.find((e) => e.msg === 'stream failed');
    assert.ok(first, 'a stream failed line');
    assert.equal(first.level, 30, 'info');
    assert.equal(first.address, 'refused');
    assert.equal(first.connector, `127.0.0.1:${deadPort}`);
    assert.match(String(first.reason), /ECONNREFUSED/);
    t.diagnostic(
      `${STORM} refused streams in ${stormMs} ms: ${lines.length} failure lines, ${all.length} lines in all`,
    );
  });
});
