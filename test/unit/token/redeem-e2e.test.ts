import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, request } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { isSkiffError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { type CertKey, createServerCert } from '../../../src/pki/index.js';
import { redeemToken } from '../../../src/token/redeem-client.js';
import { createRedeemHandler, MAX_REDEEM_BODY } from '../../../src/token/redeem-handler.js';
import { parseToken } from '../../../src/token/token.js';
import { type Fixture, makeFixture, makeIssuer, redeemReq } from './fixture.js';

// The issuer's redeem endpoint on a real HTTPS server (TLS 1.3, the site's own server
// certificate) and the client redeeming against it over loopback.

let fx: Fixture;
let serverCert: CertKey;
let port: number;
let linkUrls: string[] = [];
const servers: (Server | HttpServer)[] = [];
let issuer: ReturnType<typeof makeIssuer>['issuer'];
/** Every log line the issuer and handler wrote, and every token text issued. */
const logLines: string[] = [];
const issued: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  }),
);

function listen(server: Server | HttpServer): Promise<number> {
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  const p = await new Promise<number>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)),
  );
  await new Promise((r) => s.close(r));
  return p;
}

before(async () => {
  fx = await makeFixture();
  serverCert = await createServerCert(fx.ca, { commonName: 'west', hosts: ['127.0.0.1'] });
  issuer = makeIssuer(fx, {}, () => linkUrls, logger).issuer;
  const server = createHttpsServer(
    { key: serverCert.keyPem, cert: serverCert.certPem, minVersion: 'TLSv1.3' },
    createRedeemHandler(issuer, logger),
  );
  port = await listen(server);
  linkUrls = [`wss://127.0.0.1:${port}/v1/link`];
});

after(() => {
  for (const s of servers) {
    s.close();
    if ('closeAllConnections' in s) s.closeAllConnections();
  }
});

/** East's side of a redemption of `text`, its site id proven (fixture.ts redeemReq). */
const req = (text: string) => {
  const { token: _token, ...rest } = redeemReq(fx, text);
  return rest;
};

async function newToken(uses = 1) {
  const t = await issuer.issue({ expiryMs: 60_000, uses });
  issued.push(t.yaml);
  return { text: t.yaml, body: parseToken(t.yaml) };
}

function rejectsCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  return assert.rejects(p, (err) => {
    assert.ok(isSkiffError(err), `not a SkiffError: ${err}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

test('redeemToken gets a certificate from the issuer over TLS 1.3, once', async () => {
  const { text, body } = await newToken();
  const r = await redeemToken(body, text, req(text), { timeoutMs: 5000 });
  assert.equal(r.url, linkUrls[0]);
  assert.equal(r.caPem, fx.ca.certPem);
  assert.ok(new X509Certificate(r.certPem).verify(new X509Certificate(fx.ca.certPem).publicKey));
  // The refusal crosses the wire with its code and message intact.
  await rejectsCode(
    redeemToken(body, text, req(text), { timeoutMs: 5000 }),
    'SKIFF_ERR_TOKEN_USED',
    /^this token has been used up \(uses: 1\); ask the issuer for a new token$/,
  );
});

test('a tampered token is refused by the issuer with TOKEN_TAMPERED', async () => {
  const { text, body } = await newToken();
  await rejectsCode(
    redeemToken(body, text.replace('uses: 1', 'uses: 7'), req(text), { timeoutMs: 5000 }),
    'SKIFF_ERR_TOKEN_TAMPERED',
  );
});

test('an unreachable URL is skipped for the next one', async () => {
  const { text, body } = await newToken();
  const dead = `wss://127.0.0.1:${await closedPort()}/v1/link`;
  const r = await redeemToken({ ...body, urls: [dead, linkUrls[0]!] }, text, req(text), {
    timeoutMs: 5000,
  });
  assert.equal(r.url, linkUrls[0]);
});

test('a closed port gives ISSUER_UNREACHABLE naming the URL and the cause', async () => {
  const { text, body } = await newToken();
  const p = await closedPort();
  await rejectsCode(
    redeemToken({ ...body, urls: [`wss://127.0.0.1:${p}/v1/link`] }, text, req(text), {
      timeoutMs: 5000,
    }),
    'SKIFF_ERR_ISSUER_UNREACHABLE',
    new RegExp(
      `^cannot reach the token's issuer at https://127\\.0\\.0\\.1:${p} \\(connect ECONNREFUSED[^)]*\\); is its router running and is the port reachable\\? The token was not used\\.$`,
    ),
  );
});

test('a server that never answers times out as ISSUER_UNREACHABLE', async () => {
  const { text, body } = await newToken();
  const silent = createNetServer(() => {});
  const p = await listen(silent);
  const t0 = Date.now();
  await rejectsCode(
    redeemToken({ ...body, urls: [`wss://127.0.0.1:${p}/v1/link`] }, text, req(text), {
      timeoutMs: 200,
    }),
    'SKIFF_ERR_ISSUER_UNREACHABLE',
    /no answer within 200 ms/,
  );
  assert.ok(Date.now() - t0 < 2000);
});

test("a server without the token's CA is not trusted with the secret", async () => {
  const { text, body } = await newToken();
  const impostorCert = await createServerCert(fx.otherCa, {
    commonName: 'west',
    hosts: ['127.0.0.1'],
  });
  let requests = 0;
  const impostor = createHttpsServer(
    { key: impostorCert.keyPem, cert: impostorCert.certPem, minVersion: 'TLSv1.3' },
    (_req, res) => {
      requests++;
      res.end('{}');
    },
  );
  impostor.on('tlsClientError', () => {});
  const p = await listen(impostor);
  await rejectsCode(
    redeemToken({ ...body, urls: [`wss://127.0.0.1:${p}/v1/link`] }, text, req(text), {
      timeoutMs: 5000,
    }),
    'SKIFF_ERR_ISSUER_UNREACHABLE',
    /certificate.*The token was not used\.$/,
  );
  assert.equal(requests, 0);
});

/** Raw POSTs to the handler, for answers redeemToken would never provoke. */
function post(
  path: string,
  body: string | string[],
  method = 'POST',
): Promise<{ status: number; json: { code?: string } }> {
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca: fx.ca.certPem,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          data += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) }));
      },
    );
    r.on('error', reject);
    // Several chunks go out with chunked encoding: no content-length to refuse early.
    for (const chunk of Array.isArray(body) ? body : [body]) r.write(chunk);
    r.end();
  });
}

test('the handler answers bad requests with a status and a coded JSON error', async () => {
  const bad = await post('/v1/redeem', 'not json');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'SKIFF_ERR_INVALID_ARGUMENT');
  const notToken = await post(
    '/v1/redeem',
    JSON.stringify({
      token: 'hello',
      csr: fx.csrPem,
      siteId: 'a',
      siteName: 'b',
      linkName: 'c',
      siteCa: 'x',
      proof: 'y',
    }),
  );
  assert.equal(notToken.status, 400);
  assert.equal(notToken.json.code, 'SKIFF_ERR_TOKEN_INVALID');
  assert.equal((await post('/v1/redeem', '', 'GET')).status, 405);
  assert.equal((await post('/v1/other', '{}')).status, 404);
});

test('a body over 64 KiB is refused with 413', async () => {
  const big = JSON.stringify({ token: 'x'.repeat(MAX_REDEEM_BODY) });
  const r = await post('/v1/redeem', big);
  assert.equal(r.status, 413);
  assert.equal(r.json.code, 'SKIFF_ERR_INVALID_ARGUMENT');
  const chunked = await post('/v1/redeem', [big.slice(0, 40_000), big.slice(40_000)]);
  assert.equal(chunked.status, 413);
});

test('neither the token text nor its secret appears in the logs', () => {
  assert.ok(logLines.length > 0, 'something was logged');
  const all = logLines.join('');
  assert.ok(all.includes('token redeemed'));
  for (const text of issued) {
    assert.ok(!all.includes(parseToken(text).secret), 'secret logged');
    assert.ok(!all.includes(parseToken(text).ca.split('\n')[1]!), 'token text logged');
  }
});

test('status codes: 403 for tampered or unknown, 410 for expired or used', async () => {
  // Plain HTTP hosting is enough to check the mapping; TLS is covered above.
  const codes = [
    ['SKIFF_ERR_TOKEN_TAMPERED', 403],
    ['SKIFF_ERR_TOKEN_UNKNOWN', 403],
    ['SKIFF_ERR_TOKEN_EXPIRED', 410],
    ['SKIFF_ERR_TOKEN_USED', 410],
  ] as const;
  const { SkiffError } = await import('../../../src/errors.js');
  for (const [code, status] of codes) {
    const stub = { redeem: () => Promise.reject(new SkiffError(code, `msg ${code}`)) };
    const p = await listen(createHttpServer(createRedeemHandler(stub, silentLogger)));
    const res = await fetch(`http://127.0.0.1:${p}/v1/redeem`, {
      method: 'POST',
      body: JSON.stringify({
        token: 't',
        csr: 'c',
        siteId: 'a',
        siteName: 'b',
        linkName: 'c',
        siteCa: 'x',
        proof: 'y',
      }),
    });
    assert.equal(res.status, status);
    assert.deepEqual(await res.json(), { code, message: `msg ${code}` });
  }
});

test('an unexpected failure is a 500 with no internals in the answer', async () => {
  const stub = { redeem: () => Promise.reject(new Error('EIO /var/lib/skiff/secret')) };
  const p = await listen(createHttpServer(createRedeemHandler(stub, silentLogger)));
  const res = await fetch(`http://127.0.0.1:${p}/v1/redeem`, {
    method: 'POST',
    body: JSON.stringify({
      token: 't',
      csr: 'c',
      siteId: 'a',
      siteName: 'b',
      linkName: 'c',
      siteCa: 'x',
      proof: 'y',
    }),
  });
  assert.equal(res.status, 500);
  const json = (await res.json()) as { code: string; message: string };
  assert.equal(json.code, 'SKIFF_ERR_INTERNAL');
  assert.ok(!json.message.includes('/var/lib'));
});
