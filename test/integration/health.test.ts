/**
 * `site run --health-port`: a real router serves the probes a kubelet sends. /livez and
 * /readyz answer 200 once it runs; after SIGTERM, while a stream holds the drain open,
 * /readyz is 503 and /livez still 200; once the drain ends the port is closed. The
 * `healthPort` setting does the same, no health port is the default, and a taken port
 * stops `site run` with a message that names it.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { expose, listen } from '../helpers/pair.js';
import { PortTaken, saysPortInUse, withFreePort } from '../helpers/ports.js';
import { match, type RouterOptions, RouterProcess } from '../helpers/router.js';
import {
  connect,
  destroyClients,
  type EchoServer,
  httpGet,
  startEchoServer,
} from '../helpers/tcp.js';

/** A started router whose health endpoint is on a picked port (another if that was taken). */
async function routerWithHealth(
  name: string,
  how: 'flag' | 'setting',
  options: Partial<RouterOptions> = {},
): Promise<{ router: RouterProcess; port: number }> {
  return withFreePort(async (port) => {
    const router = await RouterProcess.create({
      name,
      ...options,
      ...(how === 'flag'
        ? { runArgs: ['--health-port', String(port)] }
        : { settings: { ...options.settings, healthPort: port } }),
    });
    try {
      await router.start();
    } catch (err) {
      const taken = saysPortInUse(router.tail(), port);
      await router.dispose();
      throw taken ? new PortTaken(port, (err as Error).message) : err;
    }
    return { router, port };
  });
}

describe('health endpoint of a running router', { timeout: 90_000 }, () => {
  const routers: RouterProcess[] = [];
  const servers: EchoServer[] = [];
  after(async () => {
    destroyClients();
    for (const server of servers) await server.close();
    for (const router of routers) await router.dispose();
  });

  test('GET /livez and /readyz are 200 once the router is ready; other paths 404', async () => {
    const { router, port } = await routerWithHealth('health-a', 'flag');
    routers.push(router);
    const listening = router.eventsSince(router.startMark, match('health endpoint listening'));
    assert.deepEqual(
      listening.map((e) => [e.host, e.port]),
      [['127.0.0.1', port]],
      'bound to 127.0.0.1 by default, once',
    );
    assert.deepEqual(await httpGet(port, '/livez'), { status: 200, body: 'ok\n' });
    assert.deepEqual(await httpGet(port, '/readyz'), { status: 200, body: 'ok\n' });
    assert.equal((await httpGet(port, '/status')).status, 404);
  });

  test('after SIGTERM /readyz is 503 while the drain waits for a stream, /livez stays 200, then the port closes', async () => {
    const echo = await startEchoServer();
    servers.push(echo);
    const { router, port } = await routerWithHealth('health-drain', 'setting', {
      settings: { drainTimeoutMs: 30_000 },
    });
    routers.push(router);
    await expose(router, 'svc', echo.port);
    const listenerPort = await listen(router, 'svc');
    const client = await connect(listenerPort);
    client.write('x');
    await new Promise<void>((resolve) => client.once('data', () => resolve()));

    const draining = router.waitForEvent(match('router draining'));
    const exited = router.stop(40_000);
    await draining;
    assert.deepEqual(await httpGet(port, '/readyz'), { status: 503, body: 'draining\n' });
    assert.deepEqual(await httpGet(port, '/livez'), { status: 200, body: 'ok\n' });
    assert.equal(router.eventsSince(router.startMark, match('router drained')).length, 0);

    client.end();
    const exit = await exited;
    assert.equal(exit.code, 0, `exit after the drain (signal ${exit.signal})`);
    assert.equal(
      router.eventsSince(router.startMark, match('router drained', { outcome: 'drained' })).length,
      1,
    );
    await assert.rejects(httpGet(port, '/livez'), { code: 'ECONNREFUSED' });
  });

  test('without --health-port or the setting no health endpoint is served', async () => {
    const router = await RouterProcess.started({ name: 'health-off' });
    routers.push(router);
    assert.deepEqual(router.eventsSince(router.startMark, match('health endpoint listening')), []);
  });

  test('a taken health port stops site run with PORT_IN_USE naming the port', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    assert.ok(address !== null && typeof address === 'object');
    const router = await RouterProcess.create({ name: 'health-taken' });
    routers.push(router);
    try {
      const result = await router.cli(['site', 'run', '--health-port', String(address.port)]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(
          `port ${address.port} on 127\\.0\\.0\\.1 is already in use; pick another with --health-port`,
        ),
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  test('--health-port and --health-host are checked before anything starts', async () => {
    const router = await RouterProcess.create({ name: 'health-bad' });
    routers.push(router);
    const badPort = await router.cli(['site', 'run', '--health-port', '70000']);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--health-port "70000" is not a port/);
    const badHost = await router.cli(['site', 'run', '--health-port', '1', '--health-host', 'a b']);
    assert.equal(badHost.code, 2);
    assert.match(badHost.stderr, /--health-host "a b" is not a host name or IP address/);
  });
});
