/**
 * What the running router offers its admin API. The gRPC server (admin/server.ts) maps
 * each RPC onto one of these methods; the router (site/router.ts) implements them. Shapes
 * here are also what `-o json` prints, so fields are stable and documented.
 */

export type LinkDirection = 'out' | 'in';

/** connecting: dialling or handshaking; up: carrying streams; down: waiting to retry;
 * revoked: the issuer ended this link's credential, it will not be retried. */
export type LinkState = 'connecting' | 'up' | 'down' | 'revoked';

export interface LinkInfo {
  name: string;
  /** out: this site dialled (made from a token); in: the peer dialled this site. */
  direction: LinkDirection;
  peerSiteId: string;
  peerSiteName: string;
  cost: number;
  state: LinkState;
  /** The URL dialled (out links only). */
  url?: string;
  /** Why the link last went down or failed to come up. */
  lastError?: string;
  /** ISO time of the last state change. */
  since: string;
  /** Last measured round-trip time over the link, in milliseconds. */
  rttMs?: number;
  /** Streams open on the link now. */
  streams: number;
}

export type ListenerState = 'bound' | 'error';

export interface ListenerInfo {
  address: string;
  host: string;
  port: number;
  state: ListenerState;
  error?: string;
  /** Client connections open through this listener now. */
  activeStreams: number;
}

export interface ConnectorInfo {
  address: string;
  host: string;
  port: number;
  /** Streams delivered to this connector's target and still open. */
  activeStreams: number;
}

export interface SiteInfo {
  id: string;
  name: string;
  platform: 'local' | 'kubernetes';
  /** The URL other sites dial, or absent with `--no-link-access`. */
  linkUrl?: string;
  linkAccess: boolean;
}

export interface AddressInfo {
  address: string;
  /** Names of the sites that have a connector for it. */
  sites: string[];
}

export interface SiteStatus {
  site: SiteInfo;
  version: string;
  pid: number;
  uptimeSeconds: number;
  links: LinkInfo[];
  listeners: ListenerInfo[];
  connectors: ConnectorInfo[];
  addresses: AddressInfo[];
  streams: { active: number; total: number };
  /** Bytes the router holds for streams right now, and the most it has held since start. */
  buffered: { current: number; peak: number };
  /** The link port's gate for unauthenticated connections; absent when the site accepts no links. */
  linkPort?: LinkPortStats;
  /** Records and keys in the site's state that could not be used: skipped until fixed. */
  problems: StateProblemInfo[];
}

/** Connections on the link port not yet authenticated and upgraded, their caps, and refusals since start. */
export interface LinkPortStats {
  unauthenticated: number;
  maxUnauthenticated: number;
  maxPerSource: number;
  refusedPerSource: number;
  refusedTotal: number;
  /** Redeem requests answered 429: their source exceeded its rate. */
  redeemsLimited: number;
}

export interface StateProblemInfo {
  /** The record kind, or `key`. */
  kind: string;
  name: string;
  /** The file, or the Kubernetes object. */
  where: string;
  /** What is wrong and what to do, in one line. */
  problem: string;
}

export interface NetworkSite {
  id: string;
  name: string;
  reachable: boolean;
  addresses: string[];
}

export interface NetworkLink {
  from: string;
  to: string;
  cost: number;
  rttMs?: number;
}

export interface NetworkStatus {
  sites: NetworkSite[];
  links: NetworkLink[];
  addresses: AddressInfo[];
}

export interface CreatedToken {
  /** The token file's contents (YAML). */
  yaml: string;
  id: string;
  /** ISO time. */
  expires: string;
  uses: number;
}

export interface AdminApi {
  status(): Promise<SiteStatus>;
  createToken(req: { expiryMs: number; uses: number }): Promise<CreatedToken>;
  /** Redeems the token with its issuer and starts the link; rejects with a SkiffError. */
  createLink(req: { token: string; name?: string; cost: number }): Promise<LinkInfo>;
  deleteLink(name: string): Promise<void>;
  listLinks(): Promise<LinkInfo[]>;
  expose(req: { address: string; host: string; port: number }): Promise<ConnectorInfo>;
  unexpose(address: string): Promise<void>;
  createListener(req: { address: string; host: string; port: number }): Promise<ListenerInfo>;
  deleteListener(address: string): Promise<void>;
  listListeners(): Promise<ListenerInfo[]>;
  networkStatus(): Promise<NetworkStatus>;
  /** Everything useful for a bug report (no keys or secrets), as JSON text. */
  debugDump(): Promise<string>;
}
