/**
 * Proves a site comes back from its state dir alone: with a link and listeners in place,
 * restarting the dialling router, and then the issuing router, brings the link up again and
 * re-binds the listeners, and traffic flows both ways, without any CLI command. After the
 * issuer restarts, the dialler reconnects by itself (backoff capped at 1 s by settings.json).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  awaitLinkUp,
  exposeAndListen,
  SITE_A,
  SITE_B,
  useLinkedSites,
  waitForAddress,
} from '../helpers/pair.js';
import { match, type RouterProcess } from '../helpers/router.js';
import { connect, KiB, receiveAll, sendPattern, startEchoServer } from '../helpers/tcp.js';

/** One echo round trip through `port`, hashed both ways. */
async function assertEcho(port: number, seed: number): Promise<void> {
  const client = await connect(port);
  const [sent, back] = await Promise.all([
    sendPattern(client, 256 * KiB, seed),
    receiveAll(client),
  ]);
  assert.deepEqual(back, sent, `echo through port ${port}`);
}

describe('restart: links and listeners come back from persisted state', {
  timeout: 180_000,
}, () => {
  /** Listener at A for the echo service at B, and at B for the echo service at A. */
  let portAtA = 0;
  let portAtB = 0;

  const { sites } = useLinkedSites({
    settings: { backoffMaxMs: 1000 },
    setup: async ({ a, b }, servers) => {
      const echoAtA = await startEchoServer();
      const echoAtB = await startEchoServer();
      servers.push(echoAtA, echoAtB);
      portAtA = await exposeAndListen(b, a, 'echo-b', echoAtB.port);
      portAtB = await exposeAndListen(a, b, 'echo-a', echoAtA.port);
      await assertEcho(portAtA, 1);
      await assertEcho(portAtB, 2);
    },
  });

  /** Stops `router` with SIGTERM (exit 0), starts it, and awaits link and listener recovery. */
  async function restartAndRecover(
    router: RouterProcess,
    listenerAddress: string,
    listenerPort: number,
  ): Promise<void> {
    const { a, b } = sites();
    const sinceA = a.mark();
    const sinceB = b.mark();
    const exit = await router.stop();
    assert.equal(exit.code, 0, `${router.name} exits 0 on SIGTERM (signal ${exit.signal})`);

    await router.start(); // `site run` only: no other command follows
    await router.waitForEvent(
      match('listener bound', { address: listenerAddress, port: listenerPort }),
      { since: router === a ? sinceA : sinceB },
    );
    await awaitLinkUp(a, b, SITE_A, {
      sinceIssuer: sinceA,
      sinceDialler: sinceB,
      timeoutMs: 20_000,
    });
  }

  /**
   * Restarts site `which` (restartAndRecover), then checks its listener is bound again, the link
   * is up at both ends, both sites know both addresses again, and traffic flows both ways:
   * first through the restarted site's own listener (seed `seeds[0]`), then through the other
   * site's listener (seed `seeds[1]`).
   */
  async function restartAndVerify(
    which: 'a' | 'b',
    seeds: readonly [number, number],
  ): Promise<void> {
    const { a, b } = sites();
    /** Each site's listener: its address, its port, and the site serving it. */
    const atA = { router: a, address: 'echo-b', port: portAtA, servedBy: SITE_B };
    const atB = { router: b, address: 'echo-a', port: portAtB, servedBy: SITE_A };
    const [mine, theirs] = which === 'a' ? [atA, atB] : [atB, atA];
    await restartAndRecover(mine.router, mine.address, mine.port);

    const listeners = await mine.router.listeners();
    assert.deepEqual(
      listeners.map((l) => [l.address, l.port, l.state]),
      [[mine.address, mine.port, 'bound']],
    );
    const [linksA, linksB] = await Promise.all([a.links(), b.links()]);
    assert.deepEqual(
      linksB.map((l) => [l.name, l.direction, l.state]),
      [[SITE_A, 'out', 'up']],
    );
    assert.deepEqual(
      linksA.map((l) => [l.name, l.direction, l.state]),
      [[SITE_B, 'in', 'up']],
    );

    await waitForAddress(mine.router, mine.address, mine.servedBy);
    await waitForAddress(theirs.router, theirs.address, theirs.servedBy);
    await assertEcho(mine.port, seeds[0]);
    await assertEcho(theirs.port, seeds[1]);
  }

  test('restarting the dialling router: link up again, its listener bound again, traffic both ways', {
    timeout: 60_000,
  }, async () => {
    // B -> A through the restored listener, then A -> B to the restored connector.
    await restartAndVerify('b', [3, 4]);
  });

  test('restarting the issuing router: the dialler reconnects by itself, A listener bound again, traffic both ways', {
    timeout: 60_000,
  }, async () => {
    await restartAndVerify('a', [5, 6]);
  });
});
