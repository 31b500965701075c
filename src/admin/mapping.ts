/**
 * Decoded proto messages -> the TypeScript types of admin/api.ts. codec.ts fills unset
 * scalars with defaults, leaves unset sub-messages null and unset proto3 `optional` fields
 * absent. These functions keep only the known keys and leave absent optional fields
 * absent (not '' or 0), so what the client returns
 * is exactly what the router returned, and `-o json` prints the same object.
 *
 * The other direction needs no code: the serializer reads the known fields of the plain
 * objects the router returns and skips undefined ones.
 */
import type {
  AddressInfo,
  ConnectorInfo,
  ConnectorState,
  ConsoleInfo,
  ConsoleRequest,
  CreatedToken,
  EndpointRequest,
  EndpointUpdate,
  LinkDirection,
  LinkInfo,
  LinkPortStats,
  LinkState,
  ListenerInfo,
  ListenerState,
  NetworkLink,
  NetworkSite,
  NetworkStatus,
  SiteInfo,
  SiteStatus,
  TokenInfo,
  TokenState,
} from './api.js';

/** A message as codec.ts decodes it. */
export type Wire = Record<string, unknown>;

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

function msg(value: unknown): Wire {
  return value !== null && typeof value === 'object' ? (value as Wire) : {};
}

function list<T>(value: unknown, map: (item: Wire) => T): T[] {
  return Array.isArray(value) ? value.map((item) => map(msg(item))) : [];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(str) : [];
}

/** `{ key: value }` when the optional string field was set on the wire, else `{}`. */
function optStr<K extends string>(key: K, value: unknown): { [P in K]?: string } {
  return typeof value === 'string' ? ({ [key]: value } as { [P in K]?: string }) : {};
}

/** `{ key: value }` when the optional number field was set on the wire, else `{}`. */
function optNum<K extends string>(key: K, value: unknown): { [P in K]?: number } {
  return typeof value === 'number' ? ({ [key]: value } as { [P in K]?: number }) : {};
}

/**
 * A round-trip time to the microsecond: what a measurement means, without float noise
 * (a 0.1234567 ms RTT prints as 0.123). Absent stays absent.
 */
function rtt(value: unknown): { rttMs?: number } {
  return typeof value === 'number' ? { rttMs: Math.round(value * 1000) / 1000 } : {};
}

// The string-typed enumerations are passed through unchecked: a newer router may report a
// state this CLI does not know, and printing it as-is is more useful than failing.

export function toLinkInfo(w: Wire): LinkInfo {
  return {
    id: str(w.id),
    name: str(w.name),
    direction: str(w.direction) as LinkDirection,
    peerSiteId: str(w.peerSiteId),
    peerSiteName: str(w.peerSiteName),
    cost: num(w.cost),
    state: str(w.state) as LinkState,
    ...optStr('url', w.url),
    ...optStr('lastError', w.lastError),
    since: str(w.since),
    ...rtt(w.rttMs),
    streams: num(w.streams),
  };
}

export function toListenerInfo(w: Wire): ListenerInfo {
  return {
    address: str(w.address),
    host: str(w.host),
    port: num(w.port),
    state: str(w.state) as ListenerState,
    ...optStr('error', w.error),
    activeStreams: num(w.activeStreams),
  };
}

export function toConnectorInfo(w: Wire): ConnectorInfo {
  return {
    address: str(w.address),
    host: str(w.host),
    port: num(w.port),
    state: str(w.state) as ConnectorState,
    ...optStr('error', w.error),
    ...optStr('errorAt', w.errorAt),
    activeStreams: num(w.activeStreams),
  };
}

export function toTokenInfo(w: Wire): TokenInfo {
  return {
    id: str(w.id),
    uses: num(w.uses),
    used: num(w.used),
    expires: str(w.expires),
    created: str(w.created),
    state: str(w.state) as TokenState,
  };
}

export function toSiteInfo(w: Wire): SiteInfo {
  return {
    id: str(w.id),
    name: str(w.name),
    platform: str(w.platform) as SiteInfo['platform'],
    ...optStr('linkUrl', w.linkUrl),
    linkAccess: w.linkAccess === true,
  };
}

export function toAddressInfo(w: Wire): AddressInfo {
  return { address: str(w.address), sites: strings(w.sites) };
}

export function toSiteStatus(w: Wire): SiteStatus {
  const streams = msg(w.streams);
  const buffered = msg(w.buffered);
  return {
    site: toSiteInfo(msg(w.site)),
    version: str(w.version),
    pid: num(w.pid),
    uptimeSeconds: num(w.uptimeSeconds),
    links: list(w.links, toLinkInfo),
    listeners: list(w.listeners, toListenerInfo),
    connectors: list(w.connectors, toConnectorInfo),
    addresses: list(w.addresses, toAddressInfo),
    streams: { active: num(streams.active), total: num(streams.total) },
    buffered: { current: num(buffered.current), peak: num(buffered.peak) },
    problems: list(w.problems, (p) => ({
      kind: str(p.kind),
      name: str(p.name),
      where: str(p.where),
      problem: str(p.problem),
    })),
    ...(w.linkPort ? { linkPort: toLinkPortStats(msg(w.linkPort)) } : {}),
  };
}

function toLinkPortStats(w: Wire): LinkPortStats {
  return {
    unauthenticated: num(w.unauthenticated),
    maxUnauthenticated: num(w.maxUnauthenticated),
    maxPerSource: num(w.maxPerSource),
    refusedPerSource: num(w.refusedPerSource),
    refusedTotal: num(w.refusedTotal),
    redeemsLimited: num(w.redeemsLimited),
  };
}

export function toCreatedToken(w: Wire): CreatedToken {
  return { yaml: str(w.yaml), id: str(w.id), expires: str(w.expires), uses: num(w.uses) };
}

function toNetworkSite(w: Wire): NetworkSite {
  return {
    id: str(w.id),
    name: str(w.name),
    reachable: w.reachable === true,
    addresses: strings(w.addresses),
  };
}

function toNetworkLink(w: Wire): NetworkLink {
  return {
    from: str(w.from),
    to: str(w.to),
    cost: num(w.cost),
    ...rtt(w.rttMs),
  };
}

export function toNetworkStatus(w: Wire): NetworkStatus {
  return {
    sites: list(w.sites, toNetworkSite),
    links: list(w.links, toNetworkLink),
    addresses: list(w.addresses, toAddressInfo),
  };
}

export function toConsoleInfo(w: Wire): ConsoleInfo {
  return { url: str(w.url), host: str(w.host), port: num(w.port), started: w.started === true };
}

export function toLinkList(w: Wire): LinkInfo[] {
  return list(w.links, toLinkInfo);
}

export function toListenerList(w: Wire): ListenerInfo[] {
  return list(w.listeners, toListenerInfo);
}

export function toConnectorList(w: Wire): ConnectorInfo[] {
  return list(w.connectors, toConnectorInfo);
}

export function toTokenList(w: Wire): TokenInfo[] {
  return list(w.tokens, toTokenInfo);
}

// ---- requests, as the server receives them ----

export function toCreateTokenRequest(w: Wire): { expiryMs: number; uses: number } {
  return { expiryMs: num(w.expiryMs), uses: num(w.uses) };
}

export function toCreateLinkRequest(w: Wire): { token: string; name?: string; cost: number } {
  return { token: str(w.token), ...optStr('name', w.name), cost: num(w.cost) };
}

export function toEndpointRequest(w: Wire): EndpointRequest {
  return {
    address: str(w.address),
    host: str(w.host),
    port: num(w.port),
    ...(w.replace === true ? { replace: true } : {}),
  };
}

export function toEndpointUpdate(w: Wire): EndpointUpdate {
  return { address: str(w.address), ...optStr('host', w.host), ...optNum('port', w.port) };
}

export function toUpdateLinkRequest(w: Wire): { name: string; cost: number } {
  return { name: str(w.name), cost: num(w.cost) };
}

export function toConsoleRequest(w: Wire): ConsoleRequest {
  return { ...optStr('host', w.host), port: num(w.port) };
}
