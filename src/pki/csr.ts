import forge from 'node-forge';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { CertKey } from './certs.js';
import { cnSubject, lf, newCert, publicOf, signAsCa } from './forge-util.js';

/** A PEM certificate signing request for `keyPem`, signed by that key (proof of possession). */
export function createCsr(keyPem: string, commonName: string): string {
  const key = forge.pki.privateKeyFromPem(keyPem);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = publicOf(key);
  csr.setSubject(cnSubject(commonName));
  csr.sign(key, forge.md.sha256.create());
  return lf(forge.pki.certificationRequestToPem(csr));
}

/**
 * Checks a CSR parses and its own signature verifies, so the requester proved it holds
 * the key. Exported so an issuer can refuse a bad CSR before it spends a token use.
 */
export function checkCsr(csrPem: string): void {
  verifiedCsr(csrPem);
}

function verifiedCsr(csrPem: string): forge.pki.CertificateSigningRequest {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `the certificate request is not a PEM RSA CSR (${describe(err)}); send the one createCsr() made`,
    );
  }
  let ok = false;
  try {
    ok = csr.verify();
  } catch {
    ok = false;
  }
  if (!ok || !csr.publicKey) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      'the certificate request signature does not verify; generate a new key and CSR',
    );
  }
  return csr;
}

/**
 * Issues a link certificate for the CSR's key. The subject is opts.commonName, not the
 * CSR's: the issuer decides who the holder is, the requester only proves its key.
 */
export function signCsr(
  ca: CertKey,
  csrPem: string,
  opts: { commonName: string; days: number },
): { certPem: string; serial: string } {
  const csr = verifiedCsr(csrPem);
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const cert = newCert(csr.publicKey!, opts.days);
  cert.setSubject(cnSubject(opts.commonName));
  const certPem = signAsCa(
    cert,
    [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true, serverAuth: true },
    ],
    caCert,
    caKey,
  );
  return { certPem, serial: cert.serialNumber };
}
