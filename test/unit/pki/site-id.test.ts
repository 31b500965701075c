import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  type CertKey,
  createCa,
  createCsr,
  generateKey,
  SITE_ID_PATTERN,
  siteIdOfCert,
} from '../../../src/pki/index.js';
import { checkSiteId } from '../../../src/site/create.js';
import type { SiteRecord } from '../../../src/site/records.js';
import { checkRedemptionProof, proveRedemption } from '../../../src/token/proof.js';

let ca: CertKey;
let other: CertKey;
let csrPem: string;

before(async () => {
  [ca, other] = await Promise.all([createCa('skiff site CA a'), createCa('skiff site CA b')]);
  csrPem = createCsr(await generateKey(), 'a');
});

describe('self-certifying site ids', () => {
  it('are the first 128 bits of SHA-256 of the CA SPKI, hex', () => {
    const spki = new X509Certificate(ca.certPem).publicKey.export({ type: 'spki', format: 'der' });
    const expected = createHash('sha256').update(spki).digest('hex').slice(0, 32);
    assert.equal(siteIdOfCert(ca.certPem), expected);
    assert.match(expected, SITE_ID_PATTERN);
    assert.notEqual(siteIdOfCert(other.certPem), expected);
  });

  it('a redemption proof holds only for the id of the key that signed it', () => {
    const siteId = siteIdOfCert(ca.certPem);
    const claim = { tokenId: 'ab'.repeat(16), csrPem, siteId };
    const proof = proveRedemption(ca.keyPem, claim);
    checkRedemptionProof(claim, ca.certPem, proof);
    // Someone else's id with my own CA: the id is not derived from the CA sent.
    const stolen = { ...claim, siteId: siteIdOfCert(other.certPem) };
    assert.throws(
      () => checkRedemptionProof(stolen, ca.certPem, proveRedemption(ca.keyPem, stolen)),
      /not the id of the site CA/,
    );
    // Another's CA certificate, without its key: the signature does not verify.
    const claimed = { ...claim, siteId: siteIdOfCert(other.certPem) };
    assert.throws(
      () => checkRedemptionProof(claimed, other.certPem, proveRedemption(ca.keyPem, claimed)),
      /does not verify/,
    );
    // A proof is bound to its token and CSR.
    assert.throws(
      () => checkRedemptionProof({ ...claim, tokenId: 'cd'.repeat(16) }, ca.certPem, proof),
      /does not verify/,
    );
    assert.throws(() => checkRedemptionProof(claim, 'junk', proof), /not a PEM certificate/);
  });
});

describe('a site made by an older skiff', () => {
  it('is refused at start with one line saying to recreate it', () => {
    const site = { id: siteIdOfCert(ca.certPem), name: 'a', caPem: ca.certPem } as SiteRecord;
    checkSiteId(site, '/state');
    assert.throws(
      () => checkSiteId({ ...site, id: '7b0c6d0e-1111-4222-8333-944455556666' }, '/state'),
      (err: Error) => {
        assert.match(err.message, /not derived from its CA .*recreate the site/);
        assert.ok(!err.message.includes('\n'));
        return true;
      },
    );
  });
});
