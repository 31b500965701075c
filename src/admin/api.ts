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
  /**
   * Stable and the same at both ends: the first 12 hex digits of the link credential's
   * serial. Names are unique per site too, but each end names a link for itself.
   */
  id: string;
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
  /** Last measured round-trip time over the link, in milliseconds (3 decimals: microseconds). */
  rttMs?: number;
  /** Streams open on the link now. */
  streams: number;
}

/**
 * bound: accepting, and some reachable site serves the address; no-route: accepting, but
 * no reachable site (this one included) has a connector for the address, so clients are
 * closed at once; retrying: the port could not be bound (in use), tried again with backoff.
 */
export type ListenerState = 'bound' | 'no-route' | 'retrying';

export interface ListenerInfo {
  address: string;
  host: string;
  port: number;
  state: ListenerState;
  /** Why the listener is not `bound`, in one line. */
  error?: string;
  /** Client connections open through this listener now. */
  activeStreams: number;
}

/** ready: the last dial of the target worked (or none failed yet); failing: the last dial failed. */
export type ConnectorState = 'ready' | 'failing';

export interface ConnectorInfo {
  address: string;
  /** A host:port target's host; "" when the target is a workload or selector. */
  host: string;
  port: number;
  /** A kubernetes target in place of host (config/targets.ts): one of these two. */
  workload?: string;
  selector?: string;
  /** The pods' port, where it is not `port`. */
  targetPort?: number | string;
  state: ConnectorState;
  /** The last dial failure while `failing` (target refused, timed out...). */
  error?: string;
  /** ISO time of that failure. */
  errorAt?: string;
  /** Streams delivered to this connector's target and still open. */
  activeStreams: number;
}

/** active: redeemable; used: no uses left; expired: past its expiry; revoked: `token revoke`. */
export type TokenState = 'active' | 'used' | 'expired' | 'revoked';

/** A token this site issued, as its record has it: never the secret. */
export interface TokenInfo {
  id: string;
  /** Redemptions the token allows in all, and how many were made. */
  uses: number;
  used: number;
  /** ISO times. */
  expires: string;
  created: string;
  state: TokenState;
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
  /**
   * Records and keys in the site's state that could not be used: skipped until fixed. On
   * kubernetes also the CLI's requests that failed lately (kind `request`, decision 0024).
   */
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

/** Where the console binds: `host` 127.0.0.1 when absent, `port` 0 any free one. */
export interface ConsoleRequest {
  host?: string;
  port: number;
}

/** The web console, as StartConsole reports it. */
export interface ConsoleInfo {
  /** The page with its access token as `?token=`: a secret, whoever holds it sees the console. */
  url: string;
  host: string;
  port: number;
  /** false when it was on already. */
  started: boolean;
}

/** An address and where it is served or listened for; `replace` retargets an existing one. */
export interface EndpointRequest {
  address: string;
  host: string;
  port: number;
  replace?: boolean;
  /**
   * A connector's kubernetes target in place of host (config/targets.ts), with `host` "":
   * written into the record by the CLI on that platform; the admin socket takes host:port.
   */
  workload?: string;
  selector?: string;
  targetPort?: number | string;
}

/** What may change on an existing listener or connector; at least one field is given. */
export interface EndpointUpdate {
  address: string;
  host?: string;
  port?: number;
}

/**
 * Deleting or updating something absent rejects with NOT_FOUND; creating something that
 * exists rejects with ALREADY_EXISTS unless `replace` is given. Every request is checked by
 * the rules of config/rules.ts at the admin server (INVALID_ARGUMENT naming the field).
 */
export interface AdminApi {
  status(): Promise<SiteStatus>;
  /**
   * `linkHost`/`linkPort`: on kubernetes, the address the token advertises in place of the
   * one found for the link Service (decision 0024); the admin socket does not carry them.
   */
  createToken(req: {
    expiryMs: number;
    uses: number;
    linkHost?: string;
    linkPort?: number;
  }): Promise<CreatedToken>;
  /** The tokens this site issued that it still has records of (expired ones are swept). */
  listTokens(): Promise<TokenInfo[]>;
  /** Refuses every later redemption of the token; links already made from it stay. */
  revokeToken(id: string): Promise<TokenInfo>;
  /** Redeems the token with its issuer and starts the link; rejects with a SkiffError. */
  createLink(req: { token: string; name?: string; cost: number }): Promise<LinkInfo>;
  /** An outgoing link's cost (an incoming link's cost is set by the site that dials it). */
  updateLink(req: { name: string; cost: number }): Promise<LinkInfo>;
  deleteLink(name: string): Promise<void>;
  listLinks(): Promise<LinkInfo[]>;
  expose(req: EndpointRequest): Promise<ConnectorInfo>;
  updateConnector(req: EndpointUpdate): Promise<ConnectorInfo>;
  unexpose(address: string): Promise<void>;
  listConnectors(): Promise<ConnectorInfo[]>;
  createListener(req: EndpointRequest): Promise<ListenerInfo>;
  updateListener(req: EndpointUpdate): Promise<ListenerInfo>;
  deleteListener(address: string): Promise<void>;
  listListeners(): Promise<ListenerInfo[]>;
  networkStatus(): Promise<NetworkStatus>;
  /** Everything useful for a bug report (no keys or secrets), as JSON text. */
  debugDump(): Promise<string>;
  /**
   * Switches the web console on (off until asked for) and returns its URL with its token,
   * or the running one's; ALREADY_EXISTS when that one serves on another host or port.
   */
  startConsole(req: ConsoleRequest): Promise<ConsoleInfo>;
}
