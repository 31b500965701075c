import { type CertKey, createCsr, generateKey, signCsr } from '../../src/pki/index.js';

/** A client certificate as a linking site gets one: its own key, a CSR, signed by `ca`. */
export async function clientCert(ca: CertKey, commonName: string, days = 7): Promise<CertKey> {
  const keyPem = await generateKey();
  const { certPem } = signCsr(ca, createCsr(keyPem, commonName), { commonName, days });
  return { certPem, keyPem };
}
