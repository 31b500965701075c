import {
  SITE_ID_PATTERN,
  signWithSiteKey,
  siteIdOfSpki,
  verifySiteSignature,
} from '../pki/index.js';
import { isLinkCost } from './cost.js';

/**
 * A site's link-state advertisement: what one router tells the whole network about
 * itself. Every router floods its own over its links when it changes; the newest (highest
 * seq) per site wins. See docs/decisions/0005-link-state-routing.md and, for who may say
 * what, 0009-trust-model.md.
 */
export interface SiteAdvert {
  siteId: string;
  siteName: string;
  /** Higher replaces lower: a whole number up to MAX_SEQ, see nextSeq(). */
  seq: number;
  /** Neighbour site id -> cost of the cheapest live link to it. */
  links: Record<string, number>;
  /** Addresses this site has connectors for. */
  addresses: string[];
  /**
   * Address -> the ports apps use for it at this site (its connectors' `port`): what a
   * proxy Service for the address serves (decision 0023). Absent from older routers.
   */
  ports?: Record<string, number[]>;
  /** Neighbour site id -> last measured round-trip time in ms (refreshed when it moves a lot). */
  rtt?: Record<string, number>;
}

/**
 * An advert as it travels: the exact JSON text its originator signed, the originator's
 * site CA public key (SPKI DER, base64) and the signature (base64) over the text. Routers
 * relay it unchanged, so no canonical form is needed, and every router checks it: the
 * key must derive `siteId` and the signature must verify.
 */
export interface SignedAdvert {
  body: string;
  key: string;
  sig: string;
}

/**
 * The largest seq: 2^48, a millisecond clock until the year 10889. Bounded so no advert
 * can take a value its site could not exceed (2^53 would stop `seq + 1` from growing).
 */
export const MAX_SEQ = 2 ** 48;

/** What the network may hold, from Settings. */
export interface AdvertLimits {
  maxSites: number;
  maxAddressesPerSite: number;
  maxAdvertBytes: number;
}

/** Names and addresses end up in logs and status: printable ASCII, no spaces, bounded. */
const textPattern = /^[\x21-\x7e]{1,253}$/;
/** An RSA 4096 SPKI is 550 bytes and its signature 512: base64 of either fits easily. */
const MAX_KEY_CHARS = 2048;
const MAX_SIG_CHARS = 2048;
const MAX_RTT_MS = 3_600_000;
/** Ports one address may list in an advert. */
export const MAX_PORTS_PER_ADDRESS = 8;

/**
 * The next seq of this site's own adverts: the clock in ms, or one more than the last if
 * the clock has not moved past it. A restart therefore starts above what it sent before
 * (unless the clock went back; then the network's copy is heard and re-issued above).
 */
export function nextSeq(last: number, now = Date.now()): number {
  return Math.min(MAX_SEQ, Math.max(Math.floor(now), last + 1));
}

/** Signs this site's advert with its CA key; `key` is its CA's SPKI DER in base64. */
export function signAdvert(advert: SiteAdvert, caKeyPem: string, key: string): SignedAdvert {
  const body = JSON.stringify(advert);
  return { body, key, sig: signWithSiteKey(caKeyPem, Buffer.from(body)) };
}

/** The envelope's shape, bounded; the reason why not otherwise. */
export function parseSignedAdvert(value: unknown, limits: AdvertLimits): SignedAdvert | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'an advert is not an object';
  }
  const { body, key, sig } = value as Record<string, unknown>;
  if (typeof body !== 'string' || typeof key !== 'string' || typeof sig !== 'string') {
    return 'an advert needs string fields body, key and sig (unsigned adverts are refused)';
  }
  if (Buffer.byteLength(body) > limits.maxAdvertBytes) {
    return `an advert body is larger than maxAdvertBytes (${limits.maxAdvertBytes})`;
  }
  if (key.length > MAX_KEY_CHARS || sig.length > MAX_SIG_CHARS) {
    return 'an advert key or signature is too long';
  }
  return { body, key, sig };
}

/** Parses an advert body into a typed, bounded SiteAdvert; the reason why not otherwise. */
export function parseAdvertBody(body: string, limits: AdvertLimits): SiteAdvert | string {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return 'an advert body is not JSON';
  }
  if (!isRecord(raw)) return 'an advert body is not an object';
  const { siteId, siteName, seq, links, addresses, rtt, ports } = raw;
  if (typeof siteId !== 'string' || !SITE_ID_PATTERN.test(siteId)) {
    return 'an advert siteId is not a site id';
  }
  if (typeof siteName !== 'string' || !textPattern.test(siteName)) {
    return 'an advert siteName is not 1 to 253 printable characters';
  }
  if (!Number.isSafeInteger(seq) || (seq as number) < 0 || (seq as number) > MAX_SEQ) {
    return `an advert seq is not a whole number from 0 to ${MAX_SEQ}`;
  }
  const parsedLinks = siteMap(links, limits.maxSites, isLinkCost);
  if (parsedLinks === undefined) return 'an advert links table is malformed or too large';
  if (
    !Array.isArray(addresses) ||
    addresses.length > limits.maxAddressesPerSite ||
    !addresses.every((a) => typeof a === 'string' && textPattern.test(a))
  ) {
    return `an advert addresses list is malformed or longer than maxAddressesPerSite (${limits.maxAddressesPerSite})`;
  }
  const advert: SiteAdvert = {
    siteId,
    siteName,
    seq: seq as number,
    links: parsedLinks,
    addresses: [...new Set(addresses as string[])],
  };
  if (ports !== undefined) {
    const parsedPorts = portMap(ports, new Set(advert.addresses));
    if (parsedPorts === undefined) {
      return `an advert ports table is malformed: each key one of its addresses, each value 1 to ${MAX_PORTS_PER_ADDRESS} distinct ports`;
    }
    advert.ports = parsedPorts;
  }
  if (rtt !== undefined) {
    const parsedRtt = siteMap(rtt, limits.maxSites, isRtt);
    if (parsedRtt === undefined) return 'an advert rtt table is malformed or too large';
    advert.rtt = parsedRtt;
  }
  return advert;
}

/** True when the envelope's key derives the advert's site id and signed its body. */
export function verifyAdvert(signed: SignedAdvert, advert: SiteAdvert): boolean {
  const spki = Buffer.from(signed.key, 'base64');
  return (
    siteIdOfSpki(spki) === advert.siteId &&
    verifySiteSignature(spki, Buffer.from(signed.body), signed.sig)
  );
}

function isRtt(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_RTT_MS;
}

/** A {siteId: value} table with at most `max` entries, each value passing `ok`. */
function siteMap(
  value: unknown,
  max: number,
  ok: (v: unknown) => v is number,
): Record<string, number> | undefined {
  if (!isRecord(value)) return undefined;
  const entries = Object.entries(value);
  if (entries.length > max) return undefined;
  const out: Record<string, number> = {};
  for (const [id, v] of entries) {
    if (!SITE_ID_PATTERN.test(id) || !ok(v)) return undefined;
    out[id] = v;
  }
  return out;
}

/** An {address: ports} table over the advert's own addresses, each list sorted and distinct. */
function portMap(
  value: unknown,
  addresses: ReadonlySet<string>,
): Record<string, number[]> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, number[]> = {};
  for (const [address, list] of Object.entries(value)) {
    if (!addresses.has(address) || !Array.isArray(list)) return undefined;
    if (list.length === 0 || list.length > MAX_PORTS_PER_ADDRESS) return undefined;
    if (!list.every((p) => Number.isInteger(p) && p >= 1 && p <= 65_535)) return undefined;
    const sorted = [...new Set(list as number[])].sort((a, b) => a - b);
    if (sorted.length !== list.length) return undefined;
    out[address] = sorted;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
