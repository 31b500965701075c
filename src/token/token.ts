import { sign, verify, X509Certificate } from 'node:crypto';
import { parseDocument, stringify } from 'yaml';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { REDEEM_PATH } from '../link/paths.js';
import { siteIdOfCert } from '../pki/index.js';
import { canonicalJson } from './canonical.js';

/**
 * Everything a token says, all of it covered by the signature. Field order here is the
 * order in the file, chosen for a person reading it top to bottom.
 */
export interface TokenBody {
  kind: 'skiff-token';
  version: 1;
  /** 16 random bytes, hex: the issuer's record name for this token. */
  id: string;
  issuer: { id: string; name: string };
  /** Link URLs (wss://host:port/v1/link); redemption is at redeemUrlFor() of each. */
  urls: string[];
  /** The issuer's CA certificate (PEM): pins TLS to the issuer and verifies the signature. */
  ca: string;
  /** >= 128 random bits, base64url. The issuer keeps only its SHA-256. */
  secret: string;
  /** ISO 8601 instant. */
  expires: string;
  uses: number;
}

export const TOKEN_KIND = 'skiff-token';
export const TOKEN_VERSION = 1;

/** Real tokens are about 3 KiB; anything far larger is not one and is not worth parsing. */
const MAX_TOKEN_BYTES = 64 * 1024;
const MIN_SECRET_BYTES = 16;

/**
 * The token file: a comment saying what it is, the body, and an RSA-SHA256 signature by
 * the issuer's CA key over the canonical JSON of every other field (canonical.ts).
 */
export function signToken(body: TokenBody, caKeyPem: string): string {
  const signature = sign('sha256', Buffer.from(canonicalJson(body)), caKeyPem).toString('base64');
  const name = body.issuer.name.replace(/[^\x20-\x7e]/g, '?');
  const comment = `# skiff link token: lets one site link to site "${name}" (redeem with: skiff link create FILE)\n`;
  return comment + stringify({ ...body, signature }, { lineWidth: 0 });
}

/**
 * Reads and checks a token file: its shape, then its signature against the CA it
 * carries (so any edit is caught), then its expiry. The CA itself is only trusted by
 * the issuer, which compares it with its own (issuer.ts).
 */
export function parseToken(text: string, now = Date.now()): TokenBody {
  const { body, signature } = readShape(text);
  const caKey = new X509Certificate(body.ca).publicKey;
  let ok = false;
  try {
    ok = verify('sha256', Buffer.from(canonicalJson(body)), caKey, signature);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new SkiffError(
      ErrorCode.TOKEN_TAMPERED,
      'token has been modified since it was issued (signature mismatch); ask the issuer for a new token',
    );
  }
  if (siteIdOfCert(body.ca) !== body.issuer.id) {
    throw new SkiffError(
      ErrorCode.TOKEN_TAMPERED,
      `token issuer id "${body.issuer.id}" is not the id of the CA it carries; ask the issuer for a new token`,
    );
  }
  const expires = Date.parse(body.expires);
  if (expires <= now) {
    throw new SkiffError(
      ErrorCode.TOKEN_EXPIRED,
      `token expired at ${body.expires} (${ago(now - expires)} ago); ask the issuer to create a new one with \`skiff token create\``,
    );
  }
  return body;
}

/**
 * Refuses text that is not a token at all (TOKEN_INVALID: not YAML, another kind, a field
 * missing), checking nothing that needs the issuer: `link create` says so at once instead
 * of handing the router a file it can only refuse. Signature, expiry and uses stay the
 * router's and the issuer's to check.
 */
export function checkTokenShape(text: string): void {
  readShape(text);
}

/** Where a link URL's issuer redeems tokens: wss://h:p/v1/link -> https://h:p/v1/redeem. */
export function redeemUrlFor(linkUrl: string): string {
  const url = new URL(linkUrl);
  if (url.protocol !== 'wss:') {
    throw new SkiffError(ErrorCode.TOKEN_INVALID, `link URL ${linkUrl} is not a wss:// URL`);
  }
  return `https://${url.host}${REDEEM_PATH}`;
}

function invalid(reason: string): SkiffError {
  return new SkiffError(
    ErrorCode.TOKEN_INVALID,
    `the file is not a skiff token: ${reason}; pass the file made by \`skiff token create\``,
  );
}

function readShape(text: string): { body: TokenBody; signature: Buffer } {
  if (Buffer.byteLength(text) > MAX_TOKEN_BYTES) throw invalid('it is larger than 64 KiB');
  if (text.trim() === '') throw invalid('it is empty');
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw invalid(`it is not YAML (${doc.errors[0]!.message.split('\n')[0]})`);
  const raw: unknown = doc.toJS({ maxAliasCount: 0 });
  if (!isRecord(raw)) throw invalid('it is not a YAML mapping');
  if (raw.kind !== TOKEN_KIND)
    throw invalid(`its kind is ${JSON.stringify(raw.kind)}, not "${TOKEN_KIND}"`);
  if (raw.version !== TOKEN_VERSION) {
    throw new SkiffError(
      ErrorCode.TOKEN_INVALID,
      `token version ${JSON.stringify(raw.version)} is not supported (this skiff reads version ${TOKEN_VERSION}); use the skiff release of the issuer`,
    );
  }
  const { signature, ...rest } = raw;
  if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(signature)) {
    throw invalid('field "signature" is missing or not base64');
  }
  checkFields(rest);
  return { body: rest as unknown as TokenBody, signature: Buffer.from(signature, 'base64') };
}

/** Throws TOKEN_INVALID naming the first field that is missing or of the wrong form. */
function checkFields(t: Record<string, unknown>): void {
  const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
  if (!str(t.id) || !/^[0-9a-f]{32}$/.test(t.id))
    throw invalid('field "id" is missing or not 32 hex digits');
  if (!isRecord(t.issuer) || !str(t.issuer.id) || !str(t.issuer.name)) {
    throw invalid('field "issuer" needs an id and a name');
  }
  if (!Array.isArray(t.urls) || t.urls.length === 0 || !t.urls.every(isWssUrl)) {
    throw invalid('field "urls" must list wss:// link URLs');
  }
  if (!str(t.ca)) throw invalid('field "ca" is missing');
  try {
    new X509Certificate(t.ca);
  } catch (err) {
    throw invalid(`field "ca" is not a PEM certificate (${describe(err)})`);
  }
  if (!str(t.secret) || !/^[A-Za-z0-9_-]+$/.test(t.secret)) {
    throw invalid('field "secret" is missing or not base64url');
  }
  if (Buffer.from(t.secret, 'base64url').length < MIN_SECRET_BYTES)
    throw invalid('field "secret" is too short');
  if (!str(t.expires) || Number.isNaN(Date.parse(t.expires))) {
    throw invalid('field "expires" is missing or not a date');
  }
  if (!Number.isSafeInteger(t.uses) || (t.uses as number) < 1) {
    throw invalid('field "uses" must be a whole number of at least 1');
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isWssUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    return new URL(v).protocol === 'wss:';
  } catch {
    return false;
  }
}

function ago(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.max(1, Math.round(ms / 1000))}s`;
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d`;
}
