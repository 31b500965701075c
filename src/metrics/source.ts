import type { LinkInfo } from '../admin/api.js';
import type { AddressBook } from './address-stats.js';
import type { CallCounts } from './call-counts.js';
import type { LinkCounters } from './link-counters.js';

/** What became of adverts a peer sent (routing/routes.ts Received). */
export const ADVERT_RESULTS = ['news', 'old', 'refused', 'own'] as const;
export type AdvertResult = (typeof ADVERT_RESULTS)[number];

/** The service network as routing counts it. */
export interface RoutingCounts {
  /** Sites whose advert is held, this one included, reachable or not. */
  sitesKnown: number;
  /** Sites a path leads to, this one included. */
  sitesReachable: number;
  /** Addresses some reachable site serves. */
  addresses: number;
  /** Adverts sent to neighbours (each copy to each neighbour). */
  advertsSent: number;
  advertsReceived: Record<AdvertResult, number>;
  /** Changes of the reachable sites or of who serves an address (the `routes changed` log line). */
  routeChanges: number;
}

/**
 * What a router shows /metrics: counters it keeps anyway, read at scrape time. Implemented
 * by the Router (site/router.ts); tests may hand in their own.
 */
export interface MetricsSource {
  readonly siteName: string;
  links(): Array<[LinkInfo, LinkCounters]>;
  readonly addresses: AddressBook;
  /** The addresses of this site's connectors (their dial failures are always shown). */
  connectorAddresses(): string[];
  routing(): RoutingCounts;
  buffered(): { current: number; peak: number };
  streams(): { active: number; total: number };
  readonly adminCalls: CallCounts;
}
