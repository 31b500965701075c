/**
 * The health endpoint (src/site/health.ts) on its own, over real HTTP on a port the kernel
 * picks: what each path answers in each state, and a refusal that names a taken port.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { isSkiffError } from '../../../src/errors.js';
import { type HealthServer, startHealthServer } from '../../../src/site/health.js';

const logger = pino({ level: 'silent' });

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function call(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, agent: false, timeout: 5_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
      },
    );
    req.once('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

describe('health endpoint', { timeout: 20_000 }, () => {
  let health: HealthServer;
  before(async () => {
    health = await startHealthServer({ host: '127.0.0.1', port: 0, logger });
  });
  after(() => health.close());

  test('/livez is 200 in every state; /readyz is 200 only when ready', async () => {
    const seen: Array<[string, number, string, number]> = [];
    for (const state of ['starting', 'ready', 'draining'] as const) {
      health.setState(state);
      const live = await call(health.port, '/livez');
      const ready = await call(health.port, '/readyz');
      seen.push([state, live.status, ready.body.trim(), ready.status]);
    }
    assert.deepEqual(seen, [
      ['starting', 200, 'starting', 503],
      ['ready', 200, 'ok', 200],
      ['draining', 200, 'draining', 503],
    ]);
  });

  test('a query string is ignored; HEAD answers without a body', async () => {
    health.setState('ready');
    assert.equal((await call(health.port, '/readyz?verbose')).status, 200);
    const head = await call(health.port, '/readyz', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], '3');
  });

  test('other paths are 404, other methods 405 with Allow', async () => {
    for (const path of ['/', '/healthz', '/readyz/', '/livez/x', '/metrics']) {
      assert.equal((await call(health.port, path)).status, 404, path);
    }
    const post = await call(health.port, '/readyz', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  test('a taken port is refused with PORT_IN_USE naming it and --health-port', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    assert.ok(address !== null && typeof address === 'object');
    try {
      await assert.rejects(
        startHealthServer({ host: '127.0.0.1', port: address.port, logger }),
        (err) =>
          isSkiffError(err, 'SKIFF_ERR_PORT_IN_USE') &&
          err.message.includes(`port ${address.port} on 127.0.0.1 is already in use`) &&
          err.message.includes('--health-port'),
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
