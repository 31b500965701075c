import { createHash, X509Certificate } from 'node:crypto';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { normalizeSerial } from './serial.js';

// Read-only questions about a certificate, answered by node:crypto (which, unlike
// node-forge, also reads certificates with non-RSA keys that a peer might present).

function parse(certPem: string): X509Certificate {
  try {
    return new X509Certificate(certPem);
  } catch (err) {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `not a PEM certificate (${describe(err)})`);
  }
}

/** The serial as lower-case hex without leading zeros: the form grant records are named by. */
export function certSerial(certPem: string): string {
  return normalizeSerial(parse(certPem).serialNumber);
}

/** SHA-256 of the DER certificate, lower-case hex without colons. */
export function certFingerprint(certPem: string): string {
  return createHash('sha256').update(parse(certPem).raw).digest('hex');
}

/** The subject's common name, or '' when it has none. */
export function certCommonName(certPem: string): string {
  const line = parse(certPem)
    .subject.split('\n')
    .find((l) => l.startsWith('CN='));
  return line ? line.slice(3) : '';
}
