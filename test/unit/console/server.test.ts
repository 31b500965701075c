/**
 * The console server (console/server.ts) on port 0 over a stand-in router: every path is
 * 401 without the token; `?token=` sets an HttpOnly SameSite=Strict cookie and redirects to
 * `/`; the cookie or a Bearer header then serves the page, its bundled assets (from
 * `npm run build`) and the state, each with a self-only Content-Security-Policy; /events
 * sends the view at once and again when it changes; closing ends the streams.
 */
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { NetworkStatus } from '../../../src/admin/api.js';
import { type ConsoleServer, startConsoleServer } from '../../../src/console/server.js';
import type { ConsoleSource } from '../../../src/console/view.js';
import type { ConsoleView } from '../../../src/console/view-types.js';
import { silentLogger } from '../../../src/log.js';
import { AddressBook } from '../../../src/metrics/address-stats.js';
import { withTimeout } from '../../helpers/wait.js';

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function fetchRaw(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).once('error', reject);
  });
}

describe('console server', () => {
  const network: NetworkStatus = {
    sites: [{ id: 'id-a', name: 'a', reachable: true, addresses: [] }],
    links: [],
    addresses: [],
  };
  const source: ConsoleSource = {
    siteId: 'id-a',
    metrics: { siteName: 'a', links: () => [], addresses: new AddressBook(() => false) },
    network: () => network,
    listeners: () => [],
    connectors: () => [],
  };
  let server: ConsoleServer;
  let origin: string;
  let token: string;
  before(async () => {
    server = await startConsoleServer({ host: '127.0.0.1', port: 0, source, logger: silentLogger });
    const url = new URL(server.url);
    origin = url.origin;
    token = url.searchParams.get('token') ?? '';
  });
  after(() => server.close());

  test('the URL has 32 random bytes of token, and every path is 401 without it', async () => {
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    for (const path of ['/', '/state', '/events', '/console.js', '/x', `/state?token=${token}`]) {
      const res = await fetchRaw(`${origin}${path}`);
      assert.equal(res.status, 401, path);
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
    }
  });

  test('?token= on / sets the cookie and redirects; the cookie then opens the page and its assets', async () => {
    const first = await fetchRaw(server.url);
    assert.equal(first.status, 303);
    assert.equal(first.headers.location, '/');
    const cookie = first.headers['set-cookie']?.[0] ?? '';
    assert.match(cookie, /^skiff_console_[0-9a-f]{12}=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
    const jar = { cookie: cookie.split(';')[0]! };
    const page = await fetchRaw(`${origin}/`, jar);
    assert.equal(page.status, 200);
    assert.match(page.body, /<script type="module" src="\/console.js">/);
    assert.doesNotMatch(
      page.body,
      /<script>|<style>|https?:\/\//,
      'nothing inline, nothing remote',
    );
    const policy = String(page.headers['content-security-policy']);
    assert.match(policy, /script-src 'self'/);
    assert.doesNotMatch(policy, /unsafe|https?:|\*/);
    for (const [path, type] of [
      ['/console.js', 'text/javascript'],
      ['/console.css', 'text/css'],
    ]) {
      const res = await fetchRaw(`${origin}${path}`, jar);
      assert.equal(res.status, 200, path);
      assert.match(res.headers['content-type'] ?? '', new RegExp(type));
      assert.ok(res.body.length > 100, `${path} is the bundle`);
    }
    assert.match((await fetchRaw(`${origin}/console.js`, jar)).body, /cytoscape/i);
  });

  test('a Bearer header serves the state; another token does not', async () => {
    const state = await fetchRaw(`${origin}/state`, { authorization: `Bearer ${token}` });
    assert.equal(state.status, 200);
    assert.equal((JSON.parse(state.body) as ConsoleView).site, 'a');
    const wrong = await fetchRaw(`${origin}/state`, { authorization: `Bearer ${token.slice(1)}` });
    assert.equal(wrong.status, 401);
  });

  test('/events sends the view at once and again when it changes; close ends it', async () => {
    const events: ConsoleView[] = [];
    let notify = () => {};
    let ended!: () => void;
    const end = new Promise<void>((resolve) => {
      ended = resolve;
    });
    get(
      `${origin}/events`,
      { headers: { authorization: `Bearer ${token}` }, agent: false },
      (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
        let buffer = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          buffer += chunk;
          for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
            events.push(JSON.parse(buffer.slice('data: '.length, i)) as ConsoleView);
            buffer = buffer.slice(i + 2);
            notify();
          }
        });
        res.once('end', ended);
      },
    );
    const next = (count: number) =>
      withTimeout(
        new Promise<void>((resolve) => {
          notify = () => events.length >= count && resolve();
          notify();
        }),
        5_000,
        `event ${count}`,
      );
    await next(1);
    assert.deepEqual(
      events[0]!.sites.map((s) => s.name),
      ['a'],
    );
    network.sites.push({ id: 'id-b', name: 'b', reachable: true, addresses: [] });
    await next(2);
    assert.deepEqual(
      events[1]!.sites.map((s) => s.name),
      ['a', 'b'],
    );
    await server.close();
    await withTimeout(end, 5_000, 'the stream to end on close');
  });
});
