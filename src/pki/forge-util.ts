import { isIP } from 'node:net';
import forge from 'node-forge';
import { randomSerial } from './keys.js';

/** A certificate may be presented a little before its issuer's clock says it was made. */
const CLOCK_SKEW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export type ForgeCert = forge.pki.Certificate;

/** A blank certificate with a fresh serial and a validity of `days` from now. */
export function newCert(publicKey: forge.pki.PublicKey, days: number): ForgeCert {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now + days * DAY_MS);
  return cert;
}

export function cnSubject(commonName: string): forge.pki.CertificateField[] {
  return [{ name: 'commonName', value: commonName }];
}

/** The public half of an RSA private key, which is all a certificate or CSR carries. */
export function publicOf(key: forge.pki.rsa.PrivateKey): forge.pki.rsa.PublicKey {
  return forge.pki.setRsaPublicKey(key.n, key.e);
}

/** The CA's subject key identifier as bytes, for a leaf's authorityKeyIdentifier. */
export function keyIdOf(caCert: ForgeCert): string {
  const ext = caCert.getExtension('subjectKeyIdentifier') as
    | { subjectKeyIdentifier?: string }
    | undefined;
  return ext?.subjectKeyIdentifier
    ? forge.util.hexToBytes(ext.subjectKeyIdentifier)
    : caCert.generateSubjectKeyIdentifier().getBytes();
}

/** Signs `cert` as issued by the CA (issuer name, authority key id) with SHA-256. */
export function signAsCa(
  cert: ForgeCert,
  extensions: object[],
  caCert: ForgeCert,
  caKey: forge.pki.rsa.PrivateKey,
): string {
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    ...extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: keyIdOf(caCert) },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return certToPem(cert);
}

/** subjectAltName entries: IP entries for address literals, DNS entries for the rest. */
export function altNames(hosts: string[]): object[] {
  const seen = new Set<string>();
  const out: object[] = [];
  for (const raw of hosts) {
    // A URL-style IPv6 host ("[::1]") is still the address ::1.
    const host = raw.trim().replace(/^\[(.*)\]$/, '$1');
    if (host === '' || seen.has(host.toLowerCase())) continue;
    seen.add(host.toLowerCase());
    out.push(isIP(host) ? { type: 7, ip: host } : { type: 2, value: host });
  }
  return out;
}

/**
 * node-forge writes PEM with CRLF line ends; node:crypto and most tools write LF. One
 * form everywhere keeps PEM text comparable and lets YAML show it as a plain block.
 */
export function lf(pem: string): string {
  return pem.replace(/\r\n/g, '\n');
}

export function certToPem(cert: ForgeCert): string {
  return lf(forge.pki.certificateToPem(cert));
}
