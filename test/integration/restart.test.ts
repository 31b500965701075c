/**
 * Proves a site comes back from its state dir alone: with a link and listeners in place,
 * restarting the dialling router, and then the issuing router, brings the link up again and
 * re-binds the listeners, and traffic flows both ways, without any CLI command. After the
 * issuer restarts, the dialler reconnects by itself (backoff capped at 1 s by settings.json).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  awaitLinkUp,
  exposeAndListen,
  type LinkedSites,
  SITE_A,
  SITE_B,
  twoLinkedSites,
  waitForAddress,
} from '../helpers/pair.js';
import { match, type RouterProcess } from '../helpers/router.js';
import {
  connect,
  KiB,
  receiveAll,
  sendPattern,
  startEchoServer,
  type TcpServer,
} from '../helpers/tcp.js';

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
  let sites: LinkedSites | undefined;
  const servers: TcpServer[] = [];
  /** Listener at A for the echo service at B, and at B for the echo service at A. */
  let portAtA = 0;
  let portAtB = 0;

  before(
    async () => {
      sites = await twoLinkedSites({ settings: { backoffMaxMs: 1000 } });
      const { a, b } = sites;
      const echoAtA = await startEchoServer();
      const echoAtB = await startEchoServer();
      servers.push(echoAtA, echoAtB);
      portAtA = await exposeAndListen(b, a, 'echo-b', echoAtB.port);
      portAtB = await exposeAndListen(a, b, 'echo-a', echoAtA.port);
      await assertEcho(portAtA, 1);
      await assertEcho(portAtB, 2);
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      for (const server of servers.splice(0)) await server.close();
      await sites?.dispose();
    },
    { timeout: 30_000 },
  );

  /** Stops `router` with SIGTERM (exit 0), starts it, and awaits link and listener recovery. */
  async function restartAndRecover(
    router: RouterProcess,
    listenerAddress: string,
    listenerPort: number,
  ): Promise<void> {
    const { a, b } = sites!;
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

  test('restarting the dialling router: link up again, its listener bound again, traffic both ways', {
    timeout: 60_000,
  }, async () => {
    const { a, b } = sites!;
    await restartAndRecover(b, 'echo-a', portAtB);

    const listeners = await b.listeners();
    assert.deepEqual(
      listeners.map((l) => [l.address, l.port, l.state]),
      [['echo-a', portAtB, 'bound']],
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

    await waitForAddress(b, 'echo-a', SITE_A);
    await waitForAddress(a, 'echo-b', SITE_B);
    await assertEcho(portAtB, 3); // B -> A, through the restored listener
    await assertEcho(portAtA, 4); // A -> B, to the restored connector
  });

  test('restarting the issuing router: the dialler reconnects by itself, A listener bound again, traffic both ways', {
    timeout: 60_000,
  }, async () => {
    const { a, b } = sites!;
    await restartAndRecover(a, 'echo-b', portAtA);

    const listeners = await a.listeners();
    assert.deepEqual(
      listeners.map((l) => [l.address, l.port, l.state]),
      [['echo-b', portAtA, 'bound']],
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

    await waitForAddress(a, 'echo-b', SITE_B);
    await waitForAddress(b, 'echo-a', SITE_A);
    await assertEcho(portAtA, 5);
    await assertEcho(portAtB, 6);
  });
});
