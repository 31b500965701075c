import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { certCommonName, certSerial, siteIdOfCert } from '../../../src/pki/index.js';
import { TokenIssuer } from '../../../src/token/issuer.js';
import { parseToken, signToken } from '../../../src/token/token.js';
import { MemoryStore } from '../../helpers/memory-store.js';
import { type Fixture, makeFixture, makeIssuer, redeemReq, siteOf, tokenBody } from './fixture.js';

let fx: Fixture;
before(async () => {
  fx = await makeFixture();
});

function rejectsCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  return assert.rejects(p, (err) => {
    assert.ok(isSkiffError(err), `not a SkiffError: ${err}`);
    assert.equal(err.code, code, err.message);
    assert.ok(!err.message.includes('\n'));
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Settles every promise and counts how many fulfilled and which codes rejected. */
async function tally(ps: Promise<unknown>[]): Promise<{ ok: number; codes: string[] }> {
  const results = await Promise.allSettled(ps);
  return {
    ok: results.filter((r) => r.status === 'fulfilled').length,
    codes: results.flatMap((r) =>
      r.status === 'rejected' ? [isSkiffError(r.reason) ? r.reason.code : String(r.reason)] : [],
    ),
  };
}

test('issue stores a record with the secret hash, never the secret, and a valid token', async () => {
  const { issuer, store } = makeIssuer(fx);
  const t = await issuer.issue({ expiryMs: 15 * 60_000, uses: 2 });
  const body = parseToken(t.yaml);
  assert.equal(body.id, t.id);
  assert.equal(body.uses, 2);
  assert.deepEqual(body.urls, ['wss://127.0.0.1:8443/v1/link']);
  assert.deepEqual(body.issuer, siteOf(fx.ca));
  assert.ok(Buffer.from(body.secret, 'base64url').length >= 32);
  const record = await store.get('token', t.id);
  assert.equal(record?.usesLeft, 2);
  assert.equal(record?.expires, t.expires);
  assert.match(record?.secretSha256 ?? '', /^[0-9a-f]{64}$/);
  assert.ok(![...store.records.values()].some((v) => v.includes(body.secret)), 'secret not stored');
});

test('a token redeems once, records a grant, then reports it used', async () => {
  const { issuer, store } = makeIssuer(fx);
  const t = await issuer.issue({ expiryMs: 60_000, uses: 1 });
  const r = await issuer.redeem(redeemReq(fx, t.yaml));
  const x = new X509Certificate(r.certPem);
  assert.ok(x.verify(new X509Certificate(fx.ca.certPem).publicKey));
  assert.equal(certCommonName(r.certPem), siteIdOfCert(fx.eastCa.certPem));
  assert.equal(certSerial(r.certPem), r.serial);
  assert.equal(r.caPem, fx.ca.certPem);
  const grant = await store.get('grant', r.serial);
  assert.deepEqual(
    { ...grant, issuedAt: undefined },
    {
      serial: r.serial,
      peerSiteId: siteIdOfCert(fx.eastCa.certPem),
      peerSiteName: 'east',
      linkName: 'to-west',
      tokenId: t.id,
      issuedAt: undefined,
    },
  );
  assert.equal((await store.get('token', t.id))?.usesLeft, 0);
  await rejectsCode(
    issuer.redeem(redeemReq(fx, t.yaml)),
    'SKIFF_ERR_TOKEN_USED',
    /^this token has been used up \(uses: 1\); ask the issuer for a new token$/,
  );
});

test('10 racing redemptions of a uses:1 token give exactly one certificate', async () => {
  const { issuer, store } = makeIssuer(fx, { putDelayMs: 5 });
  const t = await issuer.issue({ expiryMs: 60_000, uses: 1 });
  const { ok, codes } = await tally(
    Array.from({ length: 10 }, (_, i) => issuer.redeem(redeemReq(fx, t.yaml, `l${i}`))),
  );
  assert.equal(ok, 1);
  assert.deepEqual(codes, Array(9).fill('SKIFF_ERR_TOKEN_USED'));
  assert.equal((await store.list('grant')).length, 1);
});

test('a uses:3 token gives exactly three certificates to six racers', async () => {
  const { issuer, store } = makeIssuer(fx, { putDelayMs: 5 });
  const t = await issuer.issue({ expiryMs: 60_000, uses: 3 });
  const { ok, codes } = await tally(
    Array.from({ length: 6 }, (_, i) => issuer.redeem(redeemReq(fx, t.yaml, `l${i}`))),
  );
  assert.equal(ok, 3);
  assert.deepEqual(codes, Array(3).fill('SKIFF_ERR_TOKEN_USED'));
  assert.equal((await store.list('grant')).length, 3);
  assert.equal((await store.get('token', t.id))?.usesLeft, 0);
});

test('a validly signed token with the wrong secret is unknown', async () => {
  const { issuer } = makeIssuer(fx);
  const t = await issuer.issue({ expiryMs: 60_000, uses: 1 });
  // Only someone with the CA key could make this; it proves the secret itself is checked.
  const body = { ...parseToken(t.yaml), secret: tokenBody(fx.ca).secret };
  await rejectsCode(
    issuer.redeem(redeemReq(fx, signToken(body, fx.ca.keyPem))),
    'SKIFF_ERR_TOKEN_UNKNOWN',
  );
  // ...and the real token still works: the failed attempt spent nothing.
  await issuer.redeem(redeemReq(fx, t.yaml));
});

test('a token whose record is gone is unknown', async () => {
  const { issuer, store } = makeIssuer(fx);
  const t = await issuer.issue({ expiryMs: 60_000, uses: 1 });
  await store.delete('token', t.id);
  await rejectsCode(
    issuer.redeem(redeemReq(fx, t.yaml)),
    'SKIFF_ERR_TOKEN_UNKNOWN',
    /does not know this token/,
  );
});

test("a self-consistent token made with another site's CA is refused", async () => {
  const { issuer } = makeIssuer(fx);
  const forged = signToken(tokenBody(fx.otherCa), fx.otherCa.keyPem);
  await rejectsCode(
    issuer.redeem(redeemReq(fx, forged)),
    'SKIFF_ERR_TOKEN_UNKNOWN',
    /not by "west"/,
  );
});

test('tampered and expired tokens are refused before any lookup', async () => {
  const { issuer } = makeIssuer(fx);
  const t = await issuer.issue({ expiryMs: 60_000, uses: 1 });
  await rejectsCode(
    issuer.redeem(redeemReq(fx, t.yaml.replace('uses: 1', 'uses: 5'))),
    'SKIFF_ERR_TOKEN_TAMPERED',
  );
  const expired = await issuer.issue({ expiryMs: 1, uses: 1 });
  await new Promise((r) => setTimeout(r, 5));
  await rejectsCode(issuer.redeem(redeemReq(fx, expired.yaml)), 'SKIFF_ERR_TOKEN_EXPIRED');
});

test('the use is durable before the certificate: a failed write issues nothing', async () => {
  let fail = false;
  const { issuer, store } = makeIssuer(fx, {
    failPut: (kind) => (fail && kind === 'token' ? new Error('disk full') : undefined),
  });
  const t = await issuer.issue({ expiryMs: 60_000, uses: 1 });
  fail = true;
  await assert.rejects(issuer.redeem(redeemReq(fx, t.yaml)), /disk full/);
  assert.equal((await store.list('grant')).length, 0);
  assert.equal((await store.get('token', t.id))?.usesLeft, 1);
  fail = false;
  const r = await issuer.redeem(redeemReq(fx, t.yaml));
  assert.deepEqual(store.events.slice(-2), [`put token/${t.id}`, `put grant/${r.serial}`]);
});

test('a bad CSR or bad names are refused without spending a use', async () => {
  const { issuer, store } = makeIssuer(fx);
  const t = await issuer.issue({ expiryMs: 60_000, uses: 1 });
  await rejectsCode(
    issuer.redeem({ ...redeemReq(fx, t.yaml), csrPem: 'junk' }),
    'SKIFF_ERR_INVALID_ARGUMENT',
  );
  await rejectsCode(
    issuer.redeem({ ...redeemReq(fx, t.yaml), siteId: '' }),
    'SKIFF_ERR_INVALID_ARGUMENT',
  );
  await rejectsCode(
    issuer.redeem({ ...redeemReq(fx, t.yaml), linkName: 'a\nb' }),
    'SKIFF_ERR_INVALID_ARGUMENT',
  );
  assert.equal((await store.get('token', t.id))?.usesLeft, 1);
});

test('issue refuses bad input and sites without link access', async () => {
  const { issuer } = makeIssuer(fx);
  await rejectsCode(issuer.issue({ expiryMs: 0, uses: 1 }), 'SKIFF_ERR_INVALID_ARGUMENT');
  await rejectsCode(issuer.issue({ expiryMs: 1000, uses: 0 }), 'SKIFF_ERR_INVALID_ARGUMENT');
  const closed = makeIssuer(fx, {}, () => []).issuer;
  await rejectsCode(closed.issue({ expiryMs: 1000, uses: 1 }), 'SKIFF_ERR_NO_LINK_ACCESS');
});

test('records of expired tokens are deleted when the next token is issued', async () => {
  const { issuer, store } = makeIssuer(fx);
  const old = await issuer.issue({ expiryMs: 1, uses: 1 });
  await new Promise((r) => setTimeout(r, 5));
  const fresh = await issuer.issue({ expiryMs: 60_000, uses: 1 });
  assert.equal(await store.get('token', old.id), undefined);
  assert.ok(await store.get('token', fresh.id));
});

test('onGrant hears of each grant after it is stored and before the certificate returns', async () => {
  const store = new MemoryStore();
  const heard: { serial: string; stored: boolean }[] = [];
  const issuer = new TokenIssuer({
    store,
    site: siteOf(fx.ca),
    ca: fx.ca,
    linkUrls: () => ['wss://127.0.0.1:8443/v1/link'],
    logger: silentLogger,
    onGrant: (g) =>
      heard.push({ serial: g.serial, stored: store.records.has(`grant/${g.serial}`) }),
  });
  const t = await issuer.issue({ expiryMs: 60_000, uses: 1 });
  const r = await issuer.redeem(redeemReq(fx, t.yaml));
  assert.deepEqual(heard, [{ serial: r.serial, stored: true }]);
});
