/**
 * Listeners and connectors say what is wrong, and a listener heals by itself (issue 10
 * points 1 and 2): a listener whose port is taken when the router starts, or when it is
 * created, shows `retrying` with the error, and binds once the port frees (before, it
 * stayed in `error` until the router restarted); a listener whose address no reachable
 * site serves shows `no-route`; a connector whose target refuses shows `failing` with the
 * dial error and its time, until a dial works again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectorInfo, ListenerInfo } from '../../src/admin/api.js';
import { type AdminClient, connectAdmin } from '../../src/admin/client.js';
import { createListener, createListenerOn } from '../helpers/listeners.js';
import { bindOwn, PortTaken, pickPort, withFreePort } from '../helpers/ports.js';
import { RouterProcess } from '../helpers/router.js';
import {
  connect,
  destroyClients,
  outcome,
  readAll,
  startEchoServer,
  startServer,
  type TcpServer,
} from '../helpers/tcp.js';
import { Cleanup, pollUntil } from '../helpers/wait.js';

/** Backoff settings small enough that a freed port is rebound within about a second. */
const settings = { backoffInitialMs: 100, backoffMaxMs: 1000 };

async function listener(router: RouterProcess, address: string): Promise<ListenerInfo> {
  const found = (await router.listeners()).find((l) => l.address === address);
  assert.ok(found, `${router.name} has a listener for ${address}`);
  return found;
}

async function connector(router: RouterProcess, address: string): Promise<ConnectorInfo> {
  const found = (await router.status()).connectors.find((c) => c.address === address);
  assert.ok(found, `${router.name} has a connector for ${address}`);
  return found;
}

/** One echo round trip through `port`, byte-exact. */
async function echoThrough(port: number, text: string): Promise<void> {
  const socket = await connect(port);
  const received = readAll(socket);
  socket.end(text);
  assert.equal((await received).toString(), text);
}

describe('listener retry and listener/connector state', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  cleanup.add(destroyClients);
  let router: RouterProcess;
  let admin: AdminClient;
  let echoPort: number;
  before(
    async () => {
      router = await RouterProcess.started({ name: 'site-l', settings });
      cleanup.add(() => router.dispose());
      admin = connectAdmin(router.stateDir, { timeoutMs: 10_000 });
      cleanup.add(() => admin.close());
      const echo = await startEchoServer();
      cleanup.add(() => echo.close());
      echoPort = echo.port;
      const exposed = await router.cli(['expose', 'echo', '--target', `127.0.0.1:${echoPort}`]);
      assert.equal(exposed.code, 0, exposed.stderr);
    },
    { timeout: 60_000 },
  );
  after(() => cleanup.run(), { timeout: 30_000 });

  test('a port taken at start: retrying with the error, then bound by itself once it frees', {
    timeout: 60_000,
  }, async () => {
    // The blocker takes the port the router let go; anyone else may have taken it first.
    const port = await withFreePort(async (port) => {
      await createListenerOn(router, 'echo', port);
      await router.stop();
      let blocker: TcpServer;
      try {
        blocker = await bindOwn(port, () => startServer(() => {}, { port }));
      } catch (err) {
        if (err instanceof PortTaken) {
          await router.start();
          await router.cli(['listener', 'delete', 'echo']);
        }
        throw err;
      }
      try {
        await router.start();
        const retrying = await listener(router, 'echo');
        assert.equal(retrying.state, 'retrying');
        assert.match(retrying.error ?? '', new RegExp(`port ${port}\\b.*in use`));
      } finally {
        await blocker.close();
      }
      return port;
    });
    await pollUntil('the listener to bind once the port is free', async () => {
      return (await listener(router, 'echo')).state === 'bound';
    });
    assert.equal((await listener(router, 'echo')).error, undefined);
    await echoThrough(port, 'after the retry');
    await router.cli(['listener', 'delete', 'echo']);
  });

  test('a port taken at create: created retrying, bound once it frees', {
    timeout: 60_000,
  }, async () => {
    const blocker = await withFreePort((port) =>
      bindOwn(port, () => startServer(() => {}, { port })),
    );
    const { port } = blocker;
    try {
      const created = await router.json<ListenerInfo>([
        'listener',
        'create',
        'echo',
        '--port',
        String(port),
      ]);
      assert.equal(created.state, 'retrying');
      assert.match(created.error ?? '', new RegExp(`port ${port}\\b`));
    } finally {
      await blocker.close();
    }
    await pollUntil('the created listener to bind', async () => {
      return (await listener(router, 'echo')).state === 'bound';
    });
    await echoThrough(port, 'bound at last');
    await router.cli(['listener', 'delete', 'echo']);
  });

  test('a listener whose address nothing serves says so, until it is exposed', {
    timeout: 30_000,
  }, async () => {
    const { port, listener: created } = await createListener(router, 'lonely', {
      state: 'no-route',
    });
    assert.match(created.error ?? '', /no reachable site has a connector for "lonely"/);
    const expose = await router.cli(['expose', 'lonely', '--target', `127.0.0.1:${echoPort}`]);
    assert.equal(expose.code, 0, expose.stderr);
    const bound = await listener(router, 'lonely');
    assert.equal(bound.state, 'bound');
    assert.equal(bound.error, undefined);
    await echoThrough(port, 'served now');
  });

  test('a connector whose target refuses shows failing with the dial error and when; a good dial clears it', {
    timeout: 30_000,
  }, async () => {
    const deadPort = await pickPort(); // bindable, so nothing listens there
    const exposed = await router.cli(['expose', 'dead', '--target', `127.0.0.1:${deadPort}`]);
    assert.equal(exposed.code, 0, exposed.stderr);
    const { port: listenPort } = await createListener(router, 'dead');
    assert.equal((await connector(router, 'dead')).state, 'ready', 'no dial has failed yet');

    const before = Date.now();
    const client = await connect(listenPort);
    const ended = await outcome(client);
    client.end();
    assert.ok(ended.sawEnd && ended.bytes === 0, 'the client is closed cleanly with nothing sent');
    const failing = await connector(router, 'dead');
    assert.equal(failing.state, 'failing');
    assert.match(failing.error ?? '', new RegExp(`127\\.0\\.0\\.1:${deadPort}.*ECONNREFUSED`));
    const at = Date.parse(failing.errorAt ?? '');
    assert.ok(at >= before - 1000 && at <= Date.now() + 1000, `errorAt ${failing.errorAt} is now`);

    const updated = await admin.updateConnector({ address: 'dead', port: echoPort });
    assert.equal(updated.state, 'ready', 'a new target starts with a clean slate');
    await echoThrough(listenPort, 'the new target answers');
    const ready = await connector(router, 'dead');
    assert.equal(ready.state, 'ready');
    assert.equal(ready.error, undefined);
  });
});
