import forge from 'node-forge';
import { altNames, certToPem, cnSubject, newCert, publicOf, signAsCa } from './forge-util.js';
import { generateKey } from './keys.js';

export interface CertKey {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
}

const CA_DAYS = 3650;
const SERVER_DAYS = 1825;

/** Names a local client may always use for the link server, whatever --link-host says. */
const LOCAL_HOSTS = ['localhost', '127.0.0.1', '::1'];

/** A self-signed site CA: signs the site's link server certificate and its peers' link certificates. */
export async function createCa(commonName: string): Promise<CertKey> {
  const keyPem = await generateKey();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = newCert(publicOf(key), CA_DAYS);
  cert.setSubject(cnSubject(commonName));
  cert.setIssuer(cnSubject(commonName));
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return { certPem: certToPem(cert), keyPem };
}

/**
 * The link server's certificate, for every name peers may dial (`hosts`) plus the local
 * names. It also allows clientAuth so the same credential could serve a site-to-site
 * client role without a second key.
 */
/** `keyPem`: certify this key (a certificate reissued for more hosts) instead of a new one. */
export async function createServerCert(
  ca: CertKey,
  opts: { commonName: string; hosts: string[]; keyPem?: string },
): Promise<CertKey> {
  const keyPem = opts.keyPem ?? (await generateKey());
  const key = forge.pki.privateKeyFromPem(keyPem);
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const cert = newCert(publicOf(key), SERVER_DAYS);
  cert.setSubject(cnSubject(opts.commonName));
  const certPem = signAsCa(
    cert,
    [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: altNames([...opts.hosts, ...LOCAL_HOSTS]) },
    ],
    caCert,
    caKey,
  );
  return { certPem, keyPem };
}
