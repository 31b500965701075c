import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import {
  certCommonName,
  certFingerprint,
  certSerial,
  createCa,
  createCsr,
  createServerCert,
  generateKey,
  signCsr,
} from '../../../src/pki/index.js';

const DAY_MS = 86_400_000;

function years(x: X509Certificate): number {
  return (Date.parse(x.validTo) - Date.parse(x.validFrom)) / (365 * DAY_MS);
}

test('the CA is self-signed, a CA, for 10 years, and names itself', async () => {
  const ca = await createCa('skiff site CA west');
  const x = new X509Certificate(ca.certPem);
  assert.equal(x.ca, true);
  assert.ok(x.checkIssued(x), 'self-issued');
  assert.ok(x.verify(x.publicKey), 'self-signed');
  assert.ok(Math.abs(years(x) - 10) < 0.1);
  assert.equal(certCommonName(ca.certPem), 'skiff site CA west');
  assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test('the server certificate chains to the CA and names the hosts plus the local names', async () => {
  const ca = await createCa('skiff site CA west');
  const server = await createServerCert(ca, {
    commonName: 'west',
    hosts: ['west.example.com', '10.1.2.3', '[fd00::7]', '127.0.0.1'],
  });
  const x = new X509Certificate(server.certPem);
  const caX = new X509Certificate(ca.certPem);
  assert.equal(x.ca, false);
  assert.ok(x.checkIssued(caX));
  assert.ok(x.verify(caX.publicKey));
  assert.ok(Math.abs(years(x) - 5) < 0.1);
  const san = x.subjectAltName ?? '';
  for (const name of [
    'DNS:west.example.com',
    'IP Address:10.1.2.3',
    'IP Address:FD00:0:0:0:0:0:0:7',
    'DNS:localhost',
    'IP Address:127.0.0.1',
    'IP Address:0:0:0:0:0:0:0:1',
  ]) {
    assert.ok(san.includes(name), `${name} in ${san}`);
  }
  assert.equal(san.split('127.0.0.1').length, 2, 'duplicate host listed once');
  assert.equal(x.checkIP('10.1.2.3'), '10.1.2.3');
  assert.equal(x.checkHost('west.example.com'), 'west.example.com');
  assert.equal(x.checkHost('evil.example.com'), undefined);
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
});

test('signCsr issues a leaf for the CSR key, named by the issuer, not the requester', async () => {
  const ca = await createCa('skiff site CA west');
  const key = await generateKey();
  const csr = createCsr(key, 'i-claim-to-be-the-admin');
  const { certPem, serial } = signCsr(ca, csr, { commonName: 'site-id-123', days: 30 });
  const x = new X509Certificate(certPem);
  assert.ok(x.verify(new X509Certificate(ca.certPem).publicKey));
  assert.equal(certCommonName(certPem), 'site-id-123');
  assert.equal(certSerial(certPem), serial);
  assert.match(serial, /^[4-7][0-9a-f]{31}$/);
  assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(key)));
  assert.ok(Math.abs((Date.parse(x.validTo) - Date.now()) / DAY_MS - 30) < 0.1);
  assert.equal(certFingerprint(certPem), x.fingerprint256.replace(/:/g, '').toLowerCase());
});

test('serials differ between certificates', async () => {
  const ca = await createCa('skiff site CA west');
  const csr = createCsr(await generateKey(), 'x');
  const serials = new Set(
    Array.from({ length: 20 }, () => signCsr(ca, csr, { commonName: 'x', days: 1 }).serial),
  );
  assert.equal(serials.size, 20);
});

test('signCsr refuses a CSR whose signature does not verify, or that is not a CSR', async () => {
  const ca = await createCa('skiff site CA west');
  const csr = createCsr(await generateKey(), 'peer');
  // Flip one byte inside the base64 body, in the signature at the end.
  const lines = csr.trim().split('\n');
  const i = lines.length - 3;
  const line = lines[i]!;
  lines[i] = line.slice(0, 10) + (line[10] === 'A' ? 'B' : 'A') + line.slice(11);
  const bad = lines.join('\n');
  assert.throws(
    () => signCsr(ca, bad, { commonName: 'x', days: 1 }),
    (err) => isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
  );
  assert.throws(
    () => signCsr(ca, 'hello', { commonName: 'x', days: 1 }),
    (err) => isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
  );
});

test('inspect functions refuse text that is not a certificate', () => {
  assert.throws(
    () => certSerial('nope'),
    (err) => isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
  );
});

test('PEM output uses LF line ends only', async () => {
  const ca = await createCa('skiff site CA west');
  const server = await createServerCert(ca, { commonName: 'west', hosts: [] });
  const csr = createCsr(server.keyPem, 'x');
  for (const pem of [
    ca.certPem,
    ca.keyPem,
    server.certPem,
    csr,
    signCsr(ca, csr, { commonName: 'x', days: 1 }).certPem,
  ]) {
    assert.ok(!pem.includes('\r'), pem.slice(0, 40));
  }
});
