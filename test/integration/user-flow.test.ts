/**
 * Proves the whole user flow through the real CLI and real routers: two sites, a token, a
 * link, `expose` at one site and `listener create` at the other, and an HTTP request through
 * the listener answered by the service in the other site. Also proves streams flow both ways
 * over the one link (a service at the issuing site reached from the dialling site).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { ConnectorInfo, LinkInfo, ListenerInfo, SiteStatus } from '../../src/admin/api.js';
import { exposeAndListen, SITE_A, SITE_B, useLinkedSites } from '../helpers/pair.js';
import { httpGet } from '../helpers/tcp.js';

/** An HTTP service on 127.0.0.1 that names its site and echoes the path. */
async function startHttpService(site: string): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from ${site} ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('user flow: two sites, token, link, expose, listener', { timeout: 120_000 }, () => {
  const { sites, servers } = useLinkedSites();

  test('link status shows the link up on both sides with the right direction and peer', {
    timeout: 30_000,
  }, async () => {
    const { a, b, link } = sites();
    assert.equal(link.peerSiteName, SITE_A);

    const atB = await b.json<LinkInfo[]>(['link', 'status']);
    assert.equal(atB.length, 1, JSON.stringify(atB));
    assert.equal(atB[0]!.name, SITE_A);
    assert.equal(atB[0]!.direction, 'out');
    assert.equal(atB[0]!.state, 'up');
    assert.equal(atB[0]!.peerSiteName, SITE_A);

    const atA = await a.json<LinkInfo[]>(['link', 'status']);
    assert.equal(atA.length, 1, JSON.stringify(atA));
    assert.equal(atA[0]!.name, SITE_B);
    assert.equal(atA[0]!.direction, 'in');
    assert.equal(atA[0]!.state, 'up');
    assert.equal(atA[0]!.peerSiteName, SITE_B);

    const statusA = await a.json<SiteStatus>(['status']);
    assert.equal(statusA.site.name, SITE_A);
    assert.equal(statusA.links.length, 1);
  });

  test('an HTTP GET to a listener at A is answered by the service exposed at B', {
    timeout: 30_000,
  }, async () => {
    const { a, b } = sites();
    const service = await startHttpService(SITE_B);
    servers.push(service);

    const port = await exposeAndListen(b, a, 'api', service.port);
    const response = await httpGet(port, '/v1/things?x=1');
    assert.equal(response.status, 200);
    assert.equal(response.body, `hello from ${SITE_B} /v1/things?x=1`);

    const listeners = await a.json<ListenerInfo[]>(['listener', 'list']);
    assert.deepEqual(
      listeners.map((l) => [l.address, l.port, l.state]),
      [['api', port, 'bound']],
    );
  });

  test('the reverse direction: a service at A is reached through a listener at B over the same link', {
    timeout: 30_000,
  }, async () => {
    const { a, b } = sites();
    const service = await startHttpService(SITE_A);
    servers.push(service);

    const port = await exposeAndListen(a, b, 'web', service.port);
    const response = await httpGet(port, '/reverse');
    assert.equal(response.status, 200);
    assert.equal(response.body, `hello from ${SITE_A} /reverse`);

    // Both directions at once, several requests each, still over the one link.
    const apiPort = (await a.json<ListenerInfo[]>(['listener', 'list'])).find(
      (l) => l.address === 'api',
    )!.port;
    const results = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => httpGet(apiPort, `/ab/${i}`)),
      ...Array.from({ length: 5 }, (_, i) => httpGet(port, `/ba/${i}`)),
    ]);
    results.forEach((r, i) => {
      const expected =
        i < 5 ? `hello from ${SITE_B} /ab/${i}` : `hello from ${SITE_A} /ba/${i - 5}`;
      assert.equal(r.body, expected);
    });

    const [linksA, linksB] = await Promise.all([a.links(), b.links()]);
    assert.equal(linksA.length, 1, 'still exactly one link at A');
    assert.equal(linksB.length, 1, 'still exactly one link at B');
    assert.equal(linksA[0]!.state, 'up');
    assert.equal(linksB[0]!.state, 'up');

    const connectorsA = (await a.status()).connectors as ConnectorInfo[];
    assert.ok(connectorsA.some((c) => c.address === 'web' && c.port === service.port));
  });
});
