import { createCa, createServerCert, generateKey } from '../../src/pki/index.js';
import type { RecordTypes } from '../../src/state/schema.js';

/** One well-formed record of each kind and a real key, for store tests (an RSA key and CA: made once per file). */
export interface SampleRecords extends RecordTypes {
  keyPem: string;
  otherKeyPem: string;
}

export async function sampleRecords(): Promise<SampleRecords> {
  const ca = await createCa('skiff site CA west');
  const server = await createServerCert(ca, { commonName: 'west', hosts: ['127.0.0.1'] });
  const now = new Date().toISOString();
  return {
    keyPem: ca.keyPem,
    otherKeyPem: await generateKey(),
    site: {
      id: '6f1c2a8e-0000-4000-8000-000000000001',
      name: 'west',
      linkHost: '127.0.0.1',
      linkPort: 8443,
      linkAccess: true,
      caPem: ca.certPem,
      serverCertPem: server.certPem,
      createdAt: now,
    },
    token: { id: 'ab12', secretSha256: 'ff00', expires: now, usesLeft: 1, createdAt: now },
    link: {
      name: 'east',
      cost: 1,
      urls: ['wss://127.0.0.1:8443/v1/link'],
      peerSiteId: 'east-id',
      peerSiteName: 'east',
      caPem: ca.certPem,
      certPem: server.certPem,
      serial: '4a5b',
      createdAt: now,
    },
    grant: {
      serial: '4a5b',
      peerSiteId: 'east-id',
      peerSiteName: 'east',
      linkName: 'west',
      tokenId: 'ab12',
      issuedAt: now,
    },
    connector: { address: 'db', host: '127.0.0.1', port: 5432 },
    listener: { address: 'web', host: '127.0.0.1', port: 8080 },
  };
}
