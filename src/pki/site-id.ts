import {
  createHash,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
  X509Certificate,
} from 'node:crypto';

/**
 * Self-certifying site ids (docs/decisions/0009-trust-model.md): a site's id is the first
 * 128 bits of SHA-256 over its CA public key (SPKI DER), in lower-case hex. Anyone holding
 * the key can check the id, and no one can choose an id without holding the key behind it.
 */
export const SITE_ID_PATTERN = /^[0-9a-f]{32}$/;

const ID_BYTES = 16;

/** The site id of a public key given as SPKI DER. */
export function siteIdOfSpki(spkiDer: Buffer): string {
  return createHash('sha256').update(spkiDer).digest().subarray(0, ID_BYTES).toString('hex');
}

/** The site id of a CA certificate (PEM): the id of the key it certifies. */
export function siteIdOfCert(certPem: string): string {
  return siteIdOfSpki(spkiOf(new X509Certificate(certPem).publicKey));
}

export function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** The SPKI DER of a certificate's key, base64: how adverts carry their originator's key. */
export function spkiBase64OfCert(certPem: string): string {
  return spkiOf(new X509Certificate(certPem).publicKey).toString('base64');
}

/** Signs `data` with a site CA key (PKCS#8 PEM), SHA-256; base64. */
export function signWithSiteKey(keyPem: string, data: Buffer): string {
  return sign('sha256', data, keyPem).toString('base64');
}

/**
 * True when `signature` (base64) over `data` verifies with the public key `spkiDer`.
 * Anything malformed (not a key, not base64) is simply false.
 */
export function verifySiteSignature(spkiDer: Buffer, data: Buffer, signature: string): boolean {
  try {
    const key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
    return verify('sha256', data, key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
