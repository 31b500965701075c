/**
 * The metrics endpoint (metrics/server.ts) on port 0: GET and HEAD /metrics answer the
 * text format with its content type, other paths 404, other methods 405; closing frees it.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../../src/log.js';
import { AddressBook } from '../../../src/metrics/address-stats.js';
import { CallCounts } from '../../../src/metrics/call-counts.js';
import { createRouterMetrics, type RouterMetrics } from '../../../src/metrics/registry.js';
import { type MetricsServer, startMetricsServer } from '../../../src/metrics/server.js';
import { parseExposition } from '../../helpers/prom-text.js';

function call(
  port: number,
  method: string,
  path: string,
): Promise<{ status: number; type: string; allow: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          allow: String(res.headers.allow),
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.once('error', reject);
    req.end();
  });
}

describe('metrics endpoint', () => {
  let metrics: RouterMetrics;
  let server: MetricsServer;
  before(async () => {
    const calls = new CallCounts();
    calls.count('Status', 'OK');
    metrics = createRouterMetrics(
      {
        siteName: 'here',
        links: () => [],
        addresses: new AddressBook(() => false),
        connectorAddresses: () => [],
        routing: () => ({
          sitesKnown: 1,
          sitesReachable: 1,
          addresses: 0,
          advertsSent: 0,
          advertsReceived: { news: 0, old: 0, refused: 0, own: 0 },
          routeChanges: 1,
        }),
        buffered: () => ({ current: 3, peak: 7 }),
        streams: () => ({ active: 0, total: 0 }),
        adminCalls: calls,
      },
      { processMetrics: false },
    );
    server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      logger: silentLogger,
    });
  });
  after(async () => {
    await server.close();
    metrics.close();
  });

  test('GET /metrics: the text format, every series with the site', async () => {
    const res = await call(server.port, 'GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.type, 'text/plain; version=0.0.4; charset=utf-8');
    const exp = parseExposition(res.body);
    const buffered = exp.samples.find((s) => s.name === 'skiff_router_buffered_peak_bytes');
    assert.deepEqual(buffered, {
      name: 'skiff_router_buffered_peak_bytes',
      labels: { site: 'here' },
      value: 7,
    });
    assert.ok(exp.samples.some((s) => s.name === 'skiff_admin_requests_total' && s.value === 1));
    assert.equal((await call(server.port, 'GET', '/metrics?x=1')).status, 200);
  });

  test('HEAD /metrics has no body; other paths 404; other methods 405', async () => {
    const head = await call(server.port, 'HEAD', '/metrics');
    assert.deepEqual([head.status, head.body], [200, '']);
    assert.equal((await call(server.port, 'GET', '/')).status, 404);
    assert.equal((await call(server.port, 'GET', '/livez')).status, 404);
    const post = await call(server.port, 'POST', '/metrics');
    assert.deepEqual([post.status, post.allow], [405, 'GET, HEAD']);
  });
});
