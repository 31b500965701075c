import { randomBytes } from 'node:crypto';
import { type Logger, silentLogger } from '../../../src/log.js';
import { type CertKey, createCa, createCsr, generateKey } from '../../../src/pki/index.js';
import { TokenIssuer } from '../../../src/token/issuer.js';
import type { TokenBody } from '../../../src/token/token.js';
import { MemoryStore, type MemoryStoreOptions } from '../../helpers/memory-store.js';

// Shared, slow-to-make material (RSA keys) for the token tests: made once per file.

export interface Fixture {
  ca: CertKey;
  otherCa: CertKey;
  /** A linking site's CSR; one key serves every redemption in a test file. */
  csrPem: string;
}

export async function makeFixture(): Promise<Fixture> {
  const [ca, otherCa, key] = await Promise.all([
    createCa('skiff site CA west'),
    createCa('skiff site CA mallory'),
    generateKey(),
  ]);
  return { ca, otherCa, csrPem: createCsr(key, 'east') };
}

export const SITE = { id: '7b0c6d0e-1111-4222-8333-944455556666', name: 'west' };

export function tokenBody(ca: CertKey, overrides: Partial<TokenBody> = {}): TokenBody {
  return {
    kind: 'skiff-token',
    version: 1,
    id: randomBytes(16).toString('hex'),
    issuer: { ...SITE },
    urls: ['wss://127.0.0.1:8443/v1/link'],
    ca: ca.certPem,
    secret: randomBytes(32).toString('base64url'),
    expires: new Date(Date.now() + 15 * 60_000).toISOString(),
    uses: 1,
    ...overrides,
  };
}

export function makeIssuer(
  fx: Fixture,
  storeOpts: MemoryStoreOptions = {},
  linkUrls: () => string[] = () => ['wss://127.0.0.1:8443/v1/link'],
  logger: Logger = silentLogger,
): { issuer: TokenIssuer; store: MemoryStore } {
  const store = new MemoryStore(storeOpts);
  const issuer = new TokenIssuer({ store, site: SITE, ca: fx.ca, linkUrls, logger });
  return { issuer, store };
}

export function redeemReq(fx: Fixture, token: string, linkName = 'to-west') {
  return { token, csrPem: fx.csrPem, siteId: 'east-site-id', siteName: 'east', linkName };
}
