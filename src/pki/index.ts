// The public face of src/pki: the only place in skiff that imports node-forge.
export { type CertKey, createCa, createServerCert } from './certs.js';
export { checkCsr, createCsr, signCsr } from './csr.js';
export { certCommonName, certFingerprint, certSerial } from './inspect.js';
export { generateKey } from './keys.js';
export {
  SITE_ID_PATTERN,
  signWithSiteKey,
  siteIdOfCert,
  siteIdOfSpki,
  spkiBase64OfCert,
  spkiOf,
  verifySiteSignature,
} from './site-id.js';
