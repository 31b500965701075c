/**
 * `site run --metrics-port` and the `metricsPort` setting: a real router serves /metrics on
 * 127.0.0.1 unless told otherwise, none without either; the metrics port may not be the
 * health port; a taken port or a bad flag stops `site run` with a message that names it.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { pickPort } from '../helpers/ports.js';
import { parseExposition, sampleValue } from '../helpers/prom-text.js';
import { match, RouterProcess } from '../helpers/router.js';
import { fetchMetrics, routerWithMetrics } from '../helpers/router-metrics.js';
import { httpGet } from '../helpers/tcp.js';

describe('metrics endpoint of a running router', { timeout: 90_000 }, () => {
  const routers: RouterProcess[] = [];
  after(async () => {
    for (const router of routers) await router.dispose();
  });

  for (const how of ['flag', 'setting'] as const) {
    test(`${how === 'flag' ? '--metrics-port' : 'the metricsPort setting'}: /metrics on 127.0.0.1, with the site on every series`, async () => {
      const { router, port } = await routerWithMetrics(`metrics-${how}`, how);
      routers.push(router);
      const listening = router.eventsSince(router.startMark, match('metrics endpoint listening'));
      assert.deepEqual(
        listening.map((e) => [e.host, e.port]),
        [['127.0.0.1', port]],
        'bound to 127.0.0.1 by default, once',
      );
      const exp = parseExposition(await fetchMetrics(port));
      assert.equal(sampleValue(exp, 'skiff_build_info', { site: router.name }), 1);
      assert.equal(sampleValue(exp, 'skiff_routing_sites_known'), 1);
      assert.ok(exp.samples.every((s) => s.labels.site === router.name));
      assert.equal((await httpGet(port, '/livez')).status, 404);
    });
  }

  test('without --metrics-port or the setting no metrics endpoint is served', async () => {
    const router = await RouterProcess.started({ name: 'metrics-off' });
    routers.push(router);
    assert.deepEqual(router.eventsSince(router.startMark, match('metrics endpoint listening')), []);
  });

  test('the metrics port may not be the health port', async () => {
    const router = await RouterProcess.create({ name: 'metrics-same' });
    routers.push(router);
    const port = String(await pickPort()); // refused before anything binds it
    const result = await router.cli(['site', 'run', '--health-port', port, '--metrics-port', port]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`the metrics port ${port} is also the health port`));
  });

  test('a taken metrics port stops site run with PORT_IN_USE naming the port', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    assert.ok(address !== null && typeof address === 'object');
    const router = await RouterProcess.create({ name: 'metrics-taken' });
    routers.push(router);
    try {
      const result = await router.cli(['site', 'run', '--metrics-port', String(address.port)]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(
          `port ${address.port} on 127\\.0\\.0\\.1 is already in use; pick another with --metrics-port`,
        ),
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  test('--metrics-port and --metrics-host are checked before anything starts', async () => {
    const router = await RouterProcess.create({ name: 'metrics-bad' });
    routers.push(router);
    const badPort = await router.cli(['site', 'run', '--metrics-port', '0x50']);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--metrics-port "0x50" is not a port/);
    const badHost = await router.cli([
      'site',
      'run',
      '--metrics-port',
      '1',
      '--metrics-host',
      'a b',
    ]);
    assert.equal(badHost.code, 2);
    assert.match(badHost.stderr, /--metrics-host "a b" is not a host name or IP address/);
  });
});
