import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { type Logger, silentLogger } from '../../../src/log.js';
import {
  type CertKey,
  createCa,
  createCsr,
  generateKey,
  siteIdOfCert,
} from '../../../src/pki/index.js';
import { TokenIssuer } from '../../../src/token/issuer.js';
import { proveRedemption } from '../../../src/token/proof.js';
import type { TokenBody } from '../../../src/token/token.js';
import { MemoryStore, type MemoryStoreOptions } from '../../helpers/memory-store.js';

// Shared, slow-to-make material (RSA keys) for the token tests: made once per file.

export interface Fixture {
  ca: CertKey;
  otherCa: CertKey;
  /** The linking site's own CA: proves its site id at redemption. */
  eastCa: CertKey;
  /** A linking site's CSR; one key serves every redemption in a test file. */
  csrPem: string;
}

export async function makeFixture(): Promise<Fixture> {
  const [ca, otherCa, eastCa, key] = await Promise.all([
    createCa('skiff site CA west'),
    createCa('skiff site CA mallory'),
    createCa('skiff site CA east'),
    generateKey(),
  ]);
  return { ca, otherCa, eastCa, csrPem: createCsr(key, 'east') };
}

/** The issuing site of a CA: its id is derived from the CA key. */
export const siteOf = (ca: CertKey) => ({ id: siteIdOfCert(ca.certPem), name: 'west' });

export function tokenBody(ca: CertKey, overrides: Partial<TokenBody> = {}): TokenBody {
  return {
    kind: 'skiff-token',
    version: 1,
    id: randomBytes(16).toString('hex'),
    issuer: siteOf(ca),
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
  const issuer = new TokenIssuer({ store, site: siteOf(fx.ca), ca: fx.ca, linkUrls, logger });
  return { issuer, store };
}

/** A redemption as east makes it: its id proven with its own CA key. */
export function redeemReq(fx: Fixture, token: string, linkName = 'to-west') {
  const siteId = siteIdOfCert(fx.eastCa.certPem);
  const tokenId = String((parse(token) as { id?: unknown } | null)?.id ?? '');
  const proof = proveRedemption(fx.eastCa.keyPem, { tokenId, csrPem: fx.csrPem, siteId });
  return {
    token,
    csrPem: fx.csrPem,
    siteId,
    siteName: 'east',
    linkName,
    siteCaPem: fx.eastCa.certPem,
    proof,
  };
}
