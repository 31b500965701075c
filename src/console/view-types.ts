/**
 * What the console's page receives (`/state`, and each event of `/events`): the router's
 * own view of the network and its counters, with names, states and numbers only. No key,
 * certificate, token or URL is part of any of these types, so none can reach the page.
 * Shared by the router (view.ts) and the page (web/), so this file imports nothing.
 */

export interface ConsoleView {
  /** The site whose router serves the console. */
  site: string;
  sites: ViewSite[];
  /** Links between sites, each once (a below b), as both ends advertise them. */
  edges: ViewEdge[];
  addresses: ViewAddress[];
  /** This site's own links. */
  links: ViewLink[];
}

export interface ViewSite {
  name: string;
  /** This site. */
  self: boolean;
  /** A path leads to it; an unreachable site is shown until the router forgets it. */
  reachable: boolean;
  /** The addresses it has connectors for. */
  addresses: string[];
}

export interface ViewEdge {
  a: string;
  b: string;
  /** The cost each end advertises: a to b, b to a. */
  costs: [number, number];
  /** The last RTT measured over it, in milliseconds, when one end advertises one. */
  rttMs?: number;
}

/** How streams of an address opened, and their bytes, at one side this site played. */
export interface ViewEnd {
  /** Streams by how their opening ended (ok, refused, no_route, limit, timeout, aborted). */
  opened: Record<string, number>;
  /** Opening or open now. */
  open: number;
  /** TCP payload bytes read from this site's sockets of the address, and written to them. */
  receivedBytes: number;
  sentBytes: number;
}

export interface ViewAddress {
  address: string;
  /** Reachable sites that serve it (have a connector for it). */
  sites: string[];
  /** What this site saw of it, per side it played: listener, connector or relay. */
  listener?: ViewEnd;
  connector?: ViewEnd;
  relay?: ViewEnd;
  /** Failed dials of this site's connector target. */
  dialFailures: number;
  /** This site's listener or connector for it, when it has one, and why it is not well. */
  listenerState?: string;
  connectorState?: string;
  error?: string;
}

export interface ViewLink {
  name: string;
  direction: string;
  peer: string;
  cost: number;
  /** connecting, up, down or revoked, since when (ISO time). */
  state: string;
  since: string;
  rttMs?: number;
  lastError?: string;
  streams: number;
  /** Link protocol bytes each way since the router started. */
  sentBytes: number;
  receivedBytes: number;
  reconnects: number;
}
