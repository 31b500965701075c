import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * A new RSA 2048 private key as PKCS#8 PEM. node:crypto generates it (in the libuv
 * thread pool, so the event loop keeps serving links meanwhile); node-forge's own
 * prime search in JavaScript would take seconds.
 */
export async function generateKey(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return privateKey;
}

/**
 * 16 random bytes as lower-case hex, for a certificate serial number. The top bit is
 * cleared so the DER INTEGER is positive, and the next bit is set so the first byte is
 * never 0x00 (a non-minimal DER encoding OpenSSL refuses) and the hex has no leading
 * zero: the string is already in the form normalizeSerial() gives, so grant names and
 * what a TLS peer certificate reports compare equal. 126 random bits remain.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
}
