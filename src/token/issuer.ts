import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { TokenInfo } from '../admin/api.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import { type CertKey, checkCsr, signCsr } from '../pki/index.js';
import type { StateStore } from '../state/store.js';
import { KeyedMutex } from './keyed-mutex.js';
import { checkRedemptionProof } from './proof.js';
import { parseToken, signToken, TOKEN_KIND, TOKEN_VERSION, type TokenBody } from './token.js';

/** What the issuer remembers of a token: never the secret, only its hash. */
export interface TokenRecord {
  id: string;
  /** SHA-256 of the secret's base64url text, hex. */
  secretSha256: string;
  expires: string;
  usesLeft: number;
  createdAt: string;
  /** The uses the token was issued with (records made before this field: unknown). */
  uses?: number;
  /** Set by `token revoke`: every later redemption is refused. */
  revokedAt?: string;
}

/** A credential issued at redemption: the link server admits only certificates with a live grant. */
export interface GrantRecord {
  serial: string;
  peerSiteId: string;
  peerSiteName: string;
  linkName: string;
  tokenId: string;
  issuedAt: string;
}

export interface TokenIssuerOptions {
  store: StateStore;
  site: { id: string; name: string };
  ca: CertKey;
  /** The site's link URLs now; empty when the site does not accept links. */
  linkUrls: () => string[];
  logger: Logger;
  /**
   * Told of each grant once it is durable, before the certificate is returned: the link
   * server authorises serials synchronously from memory, so it must know first.
   */
  onGrant?: (grant: GrantRecord) => void;
  /**
   * The name the new incoming link gets, from the one the redeemer asked for: held until
   * release() (after onGrant), so two redemptions at once never get the same name. Without
   * it the requested name is used as it is.
   */
  claimLinkName?: (requested: string) => { name: string; release(): void };
}

export interface RedeemRequest {
  /** The token file's text as the linking site has it. */
  token: string;
  csrPem: string;
  siteId: string;
  siteName: string;
  linkName: string;
  /** The redeemer's site CA certificate: its key derives `siteId`. */
  siteCaPem: string;
  /** The redeemer's signature by that CA key (proof.ts). */
  proof: string;
}

export interface RedeemResult {
  certPem: string;
  serial: string;
  caPem: string;
}

/**
 * Link certificates live as long as the server certificate; they are revoked by deleting
 * the grant (the link server accepts only serials with a grant), not by expiry.
 */
const LINK_CERT_DAYS = 1825;
const SECRET_BYTES = 32;
/** Names end up in certificates, records and logs: keep them short and printable. */
const namePattern = /^[\x21-\x7e]{1,253}$/;

export class TokenIssuer {
  private readonly mutex = new KeyedMutex();
  private readonly caRaw: Buffer;

  constructor(private readonly opts: TokenIssuerOptions) {
    this.caRaw = new X509Certificate(opts.ca.certPem).raw;
  }

  /**
   * Makes a token; its record is durable before the token text is returned. `urls`, when
   * given, is what it advertises in place of the site's link URLs (still only for a site
   * that accepts links).
   */
  async issue(req: {
    expiryMs: number;
    uses: number;
    urls?: string[];
  }): Promise<{ yaml: string; id: string; expires: string; uses: number }> {
    if (!(req.expiryMs > 0) || !Number.isSafeInteger(req.uses) || req.uses < 1) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        'a token needs an expiry above zero and at least 1 use; e.g. --expiry 15m --uses 1',
      );
    }
    const own = this.opts.linkUrls();
    const urls = own.length === 0 ? own : (req.urls ?? own);
    if (urls.length === 0) {
      throw new SkiffError(
        ErrorCode.NO_LINK_ACCESS,
        `site "${this.opts.site.name}" does not accept links, so its tokens could not be redeemed; recreate it without --no-link-access`,
      );
    }
    const now = Date.now();
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const body: TokenBody = {
      kind: TOKEN_KIND,
      version: TOKEN_VERSION,
      id: randomBytes(16).toString('hex'),
      issuer: { id: this.opts.site.id, name: this.opts.site.name },
      urls,
      ca: this.opts.ca.certPem,
      secret,
      expires: new Date(now + req.expiryMs).toISOString(),
      uses: req.uses,
    };
    const record: TokenRecord = {
      id: body.id,
      secretSha256: sha256Hex(secret),
      expires: body.expires,
      usesLeft: req.uses,
      createdAt: new Date(now).toISOString(),
      uses: req.uses,
    };
    const yaml = signToken(body, this.opts.ca.keyPem);
    await this.opts.store.put('token', body.id, record);
    this.opts.logger.info(
      { tokenId: body.id, expires: body.expires, uses: body.uses },
      'token issued',
    );
    await this.sweepExpired(now);
    return { yaml, id: body.id, expires: body.expires, uses: body.uses };
  }

  /** The tokens this site still has records of, oldest first. */
  async list(): Promise<TokenInfo[]> {
    const now = Date.now();
    const records = await this.opts.store.list('token');
    return records
      .map((r) => tokenInfo(r, now))
      .sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  /**
   * Refuses every later redemption of the token. Under the token's lock, so a redemption in
   * progress either finished before (its link stays) or sees the revocation.
   */
  async revoke(id: string): Promise<TokenInfo> {
    return this.mutex.run(id, async () => {
      const { store, logger } = this.opts;
      const record = await store.get('token', id);
      if (!record) {
        throw new SkiffError(
          ErrorCode.NOT_FOUND,
          `site "${this.opts.site.name}" has no token ${id} (expired tokens are forgotten); see skiff token list`,
        );
      }
      if (record.revokedAt === undefined) {
        record.revokedAt = new Date().toISOString();
        await store.put('token', id, record);
        logger.info({ tokenId: id, usesLeft: record.usesLeft }, 'token revoked');
      }
      return tokenInfo(record, Date.now());
    });
  }

  /**
   * Redeems a token for a link certificate. The use is counted durably before the
   * certificate exists, so a crash can lose a use but never hand out an extra one.
   */
  async redeem(req: RedeemRequest): Promise<RedeemResult> {
    checkNames(req);
    const body = parseToken(req.token);
    // The signature was verified against the CA the token carries; that CA being ours
    // makes it verified against our own CA key.
    if (!new X509Certificate(body.ca).raw.equals(this.caRaw)) {
      throw new SkiffError(
        ErrorCode.TOKEN_UNKNOWN,
        `this token was issued by site "${body.issuer.name}", not by "${this.opts.site.name}"; redeem it at its own issuer`,
      );
    }
    // Refuse a bad CSR or an unproven site id before taking the lock: neither spends a use.
    checkCsr(req.csrPem);
    checkRedemptionProof(
      { tokenId: body.id, csrPem: req.csrPem, siteId: req.siteId },
      req.siteCaPem,
      req.proof,
    );
    if (req.siteId === this.opts.site.id) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        'a site cannot link to itself; redeem the token at another site',
      );
    }
    return this.mutex.run(body.id, () => this.redeemLocked(body, req));
  }

  private async redeemLocked(body: TokenBody, req: RedeemRequest): Promise<RedeemResult> {
    const { store, logger } = this.opts;
    const record = await store.get('token', body.id);
    if (!record || !secretMatches(record, body.secret)) {
      throw new SkiffError(
        ErrorCode.TOKEN_UNKNOWN,
        `site "${this.opts.site.name}" does not know this token (it was deleted, or the site was recreated); ask the issuer for a new token`,
      );
    }
    if (record.revokedAt !== undefined) {
      throw new SkiffError(
        ErrorCode.TOKEN_REVOKED,
        `site "${this.opts.site.name}" revoked this token at ${record.revokedAt}; ask the issuer for a new token`,
      );
    }
    if (Date.parse(record.expires) <= Date.now()) {
      throw new SkiffError(
        ErrorCode.TOKEN_EXPIRED,
        `token expired at ${record.expires}; ask the issuer to create a new one with \`skiff token create\``,
      );
    }
    if (record.usesLeft < 1) {
      throw new SkiffError(
        ErrorCode.TOKEN_USED,
        `this token has been used up (uses: ${body.uses}); ask the issuer for a new token`,
      );
    }
    await store.put('token', body.id, { ...record, usesLeft: record.usesLeft - 1 });
    const { certPem, serial } = signCsr(this.opts.ca, req.csrPem, {
      commonName: req.siteId,
      days: LINK_CERT_DAYS,
    });
    const claim = this.opts.claimLinkName?.(req.linkName) ?? {
      name: req.linkName,
      release: () => undefined,
    };
    const grant: GrantRecord = {
      serial,
      peerSiteId: req.siteId,
      peerSiteName: req.siteName,
      linkName: claim.name,
      tokenId: body.id,
      issuedAt: new Date().toISOString(),
    };
    try {
      await store.put('grant', serial, grant);
      this.opts.onGrant?.(grant);
    } finally {
      claim.release();
    }
    logger.info(
      {
        tokenId: body.id,
        usesLeft: record.usesLeft - 1,
        serial,
        peerSiteId: req.siteId,
        peerSiteName: req.siteName,
        linkName: grant.linkName,
      },
      'token redeemed',
    );
    return { certPem, serial, caPem: this.opts.ca.certPem };
  }

  /** Deletes records of tokens that have expired; best effort, they are harmless meanwhile. */
  private async sweepExpired(now: number): Promise<void> {
    try {
      for (const r of await this.opts.store.list('token')) {
        if (Date.parse(r.expires) <= now) await this.opts.store.delete('token', r.id);
      }
    } catch (err) {
      this.opts.logger.warn({ err: describe(err) }, 'could not delete expired token records');
    }
  }
}

/** What `token list` shows of a token record at time `now`. */
export function tokenInfo(r: TokenRecord, now: number): TokenInfo {
  // A record from before `uses` was kept knows only what is left.
  const uses = r.uses ?? r.usesLeft;
  const state =
    r.revokedAt !== undefined
      ? 'revoked'
      : Date.parse(r.expires) <= now
        ? 'expired'
        : r.usesLeft < 1
          ? 'used'
          : 'active';
  return {
    id: r.id,
    uses,
    used: uses - r.usesLeft,
    expires: r.expires,
    created: r.createdAt,
    state,
  };
}

function checkNames(req: RedeemRequest): void {
  for (const field of ['siteId', 'siteName', 'linkName'] as const) {
    const value = req[field];
    if (typeof value !== 'string' || !namePattern.test(value)) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `redeem request field "${field}" must be 1 to 253 printable characters without spaces`,
      );
    }
  }
}

/** Constant-time, so response timing says nothing about how much of a guess was right. */
function secretMatches(record: TokenRecord, secret: string): boolean {
  const expected = Buffer.from(record.secretSha256, 'hex');
  const actual = sha256(secret);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function sha256Hex(text: string): string {
  return sha256(text).toString('hex');
}
