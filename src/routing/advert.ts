/**
 * A site's link-state advertisement: what one router tells the whole network about
 * itself. Every router floods its own over its links when it changes; the newest (highest
 * seq) per site wins. See docs/decisions/0005-link-state-routing.md.
 */
export interface SiteAdvert {
  siteId: string;
  siteName: string;
  /** Higher replaces lower. Starts at the router's start time in ms, so a restarted site's adverts supersede the ones it sent before. */
  seq: number;
  /** Neighbour site id -> cost of the cheapest live link to it. */
  links: Record<string, number>;
  /** Addresses this site has connectors for. */
  addresses: string[];
  /** Neighbour site id -> last measured round-trip time in ms (refreshed when it moves a lot). */
  rtt?: Record<string, number>;
}

const MAX_ADDRESSES = 10_000;

/** Checks an advert received from a peer; anything malformed is dropped, not trusted. */
export function isSiteAdvert(value: unknown): value is SiteAdvert {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as Record<string, unknown>;
  if (typeof a.siteId !== 'string' || typeof a.siteName !== 'string') return false;
  if (typeof a.seq !== 'number' || !Number.isFinite(a.seq)) return false;
  if (typeof a.links !== 'object' || a.links === null || Array.isArray(a.links)) return false;
  for (const cost of Object.values(a.links as Record<string, unknown>)) {
    if (typeof cost !== 'number' || !(cost >= 0)) return false;
  }
  if (a.rtt !== undefined && (typeof a.rtt !== 'object' || a.rtt === null)) return false;
  return (
    Array.isArray(a.addresses) &&
    a.addresses.length <= MAX_ADDRESSES &&
    a.addresses.every((x) => typeof x === 'string')
  );
}
