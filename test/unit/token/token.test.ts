import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { isSkiffError } from '../../../src/errors.js';
import { canonicalJson } from '../../../src/token/canonical.js';
import { parseToken, redeemUrlFor, signToken } from '../../../src/token/token.js';
import { type Fixture, makeFixture, tokenBody } from './fixture.js';

let fx: Fixture;
before(async () => {
  fx = await makeFixture();
});

/** Asserts a SkiffError with this code and a one-line message. */
function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err) => {
    assert.ok(isSkiffError(err), `not a SkiffError: ${err}`);
    assert.equal(err.code, code, err.message);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** A parsed token file, loosely typed so a test can break any part of it. */
type Editable = Record<string, unknown> & { issuer: Record<string, unknown>; secret: string };

/** Re-serialises the file with one value changed, keeping the old signature. */
function edit(text: string, change: (t: Editable) => void): string {
  const t = parse(text) as Editable;
  change(t);
  return stringify(t);
}

test('a signed token parses back to the same body', () => {
  const body = tokenBody(fx.ca);
  const text = signToken(body, fx.ca.keyPem);
  assert.match(
    text,
    /^# skiff link token: lets one site link to site "west" \(redeem with: skiff link create FILE\)\n/,
  );
  assert.match(text, /\nca: \|/);
  assert.deepEqual(parseToken(text), body);
});

test('formatting changes (key order, comments, quoting) do not break the signature', () => {
  const body = tokenBody(fx.ca);
  const t = parse(signToken(body, fx.ca.keyPem)) as Record<string, unknown>;
  const reordered = Object.fromEntries(Object.entries(t).reverse());
  assert.deepEqual(parseToken(`# copied by hand\n${stringify(reordered)}`), body);
});

const tamperings: Record<string, (t: Editable) => void> = {
  uses: (t) => {
    t.uses = 100;
  },
  expires: (t) => {
    t.expires = new Date(Date.now() + 365 * 86_400_000).toISOString();
  },
  urls: (t) => {
    t.urls = ['wss://evil.example.com:8443/v1/link'];
  },
  secret: (t) => {
    t.secret = `${t.secret.slice(0, -2)}AA`;
  },
  'issuer name': (t) => {
    t.issuer.name = 'east';
  },
  'issuer id': (t) => {
    t.issuer.id = 'someone-else';
  },
  'an added field': (t) => {
    t.admin = true;
  },
};

for (const [what, change] of Object.entries(tamperings)) {
  test(`changing ${what} is detected as tampering`, () => {
    const text = signToken(tokenBody(fx.ca), fx.ca.keyPem);
    throwsCode(
      () => parseToken(edit(text, change)),
      'SKIFF_ERR_TOKEN_TAMPERED',
      /^token has been modified since it was issued \(signature mismatch\); ask the issuer for a new token$/,
    );
  });
}

test('a text edit of the file is detected as tampering', () => {
  const text = signToken(tokenBody(fx.ca), fx.ca.keyPem);
  throwsCode(() => parseToken(text.replace('uses: 1', 'uses: 9')), 'SKIFF_ERR_TOKEN_TAMPERED');
});

test('a token signed by another key than its embedded CA is tampered', () => {
  const text = signToken(tokenBody(fx.ca), fx.otherCa.keyPem);
  throwsCode(() => parseToken(text), 'SKIFF_ERR_TOKEN_TAMPERED');
});

const notTokens: Record<string, string> = {
  'an empty file': '',
  'blank lines': '\n\n  \n',
  'random text': 'hello there, this is my shopping list',
  'a YAML syntax error': 'kind: [skiff-token\n',
  'JSON of another shape': JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap' }),
  'a YAML list': '- kind: skiff-token\n',
  'binary bytes': '\u0000\u0001\u0002\u00ff',
};

for (const [what, text] of Object.entries(notTokens)) {
  test(`${what} is not a token`, () => {
    throwsCode(
      () => parseToken(text),
      'SKIFF_ERR_TOKEN_INVALID',
      /is not a skiff token: .*; pass the file made by `skiff token create`$/,
    );
  });
}

test('a token missing a field or with a wrong one is invalid, naming the field', () => {
  const text = signToken(tokenBody(fx.ca), fx.ca.keyPem);
  const cases: [string, (t: Editable) => void][] = [
    ['urls', (t) => delete t.urls],
    ['urls', (t) => (t.urls = ['http://127.0.0.1:8443/'])],
    ['ca', (t) => (t.ca = 'not a certificate')],
    ['secret', (t) => (t.secret = 'c2hvcnQ')],
    ['expires', (t) => (t.expires = 'tomorrow')],
    ['uses', (t) => (t.uses = 0)],
    ['signature', (t) => delete t.signature],
    ['issuer', (t) => ((t as Record<string, unknown>).issuer = 'west')],
  ];
  for (const [field, change] of cases) {
    throwsCode(
      () => parseToken(edit(text, change)),
      'SKIFF_ERR_TOKEN_INVALID',
      new RegExp(`"${field}"`),
    );
  }
});

test('an unknown token version is refused with advice', () => {
  const text = signToken(tokenBody(fx.ca), fx.ca.keyPem);
  throwsCode(
    () => parseToken(edit(text, (t) => (t.version = 2))),
    'SKIFF_ERR_TOKEN_INVALID',
    /version 2/,
  );
});

test('an expired token says when it expired and what to do', () => {
  const expires = new Date(Date.now() - 90 * 60_000).toISOString();
  const text = signToken(tokenBody(fx.ca, { expires }), fx.ca.keyPem);
  throwsCode(
    () => parseToken(text),
    'SKIFF_ERR_TOKEN_EXPIRED',
    new RegExp(`^token expired at ${expires} \\(90m ago\\); ask the issuer to create a new one`),
  );
});

test('expiry is judged at the given time', () => {
  const body = tokenBody(fx.ca);
  const text = signToken(body, fx.ca.keyPem);
  assert.doesNotThrow(() => parseToken(text, Date.parse(body.expires) - 1));
  throwsCode(() => parseToken(text, Date.parse(body.expires)), 'SKIFF_ERR_TOKEN_EXPIRED');
});

test('redeemUrlFor maps a link URL to the redeem URL on the same host and port', () => {
  assert.equal(redeemUrlFor('wss://127.0.0.1:8443/v1/link'), 'https://127.0.0.1:8443/v1/redeem');
  assert.equal(redeemUrlFor('wss://[::1]:9000/v1/link'), 'https://[::1]:9000/v1/redeem');
  assert.equal(
    redeemUrlFor('wss://west.example.com/v1/link'),
    'https://west.example.com/v1/redeem',
  );
  assert.throws(
    () => redeemUrlFor('https://x/v1/link'),
    (err) => isSkiffError(err, 'SKIFF_ERR_TOKEN_INVALID'),
  );
});

test('canonical JSON sorts keys at every depth', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 'x' } }),
    '{"a":{"c":"x","d":[2,{"y":2,"z":1}]},"b":1}',
  );
});
