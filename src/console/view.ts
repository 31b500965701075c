import type { ConnectorInfo, LinkInfo, ListenerInfo, NetworkStatus } from '../admin/api.js';
import { type EndStats, OUTCOMES, SIDES } from '../metrics/address-stats.js';
import type { MetricsSource } from '../metrics/source.js';
import type {
  ConsoleView,
  ViewAddress,
  ViewEdge,
  ViewEnd,
  ViewLink,
  ViewSite,
} from './view-types.js';

/**
 * What the console reads from the router: the counters /metrics reads (links with their
 * counters, the address stats) and what `network status`, `listener list` and `connector
 * list` show. Implemented by the Router (site/router.ts).
 */
export interface ConsoleSource {
  readonly siteId: string;
  readonly metrics: Pick<MetricsSource, 'siteName' | 'links' | 'addresses'>;
  network(): NetworkStatus;
  listeners(): ListenerInfo[];
  connectors(): ConnectorInfo[];
}

/** The page's whole state, built field by field from the source (nothing passed through whole). */
export function buildView(source: ConsoleSource): ConsoleView {
  const network = source.network();
  const sites: ViewSite[] = network.sites.map((s) => ({
    name: s.name,
    self: s.id === source.siteId,
    reachable: s.reachable,
    addresses: [...s.addresses].sort(),
  }));
  return {
    site: source.metrics.siteName,
    sites,
    edges: edgesOf(network),
    addresses: addressesOf(source, network),
    links: source.metrics.links().map(([info, c]) => linkOf(info, c)),
  };
}

/**
 * One edge per pair of sites whose adverts both list the other: a link one end has
 * dropped (deleted, or down) is gone, even while the other end's older advert is still held.
 */
function edgesOf(network: NetworkStatus): ViewEdge[] {
  const halves = new Map<string, { cost: number; rttMs?: number }>();
  for (const l of network.links) {
    halves.set(`${l.from}\n${l.to}`, {
      cost: l.cost,
      ...(l.rttMs === undefined ? {} : { rttMs: l.rttMs }),
    });
  }
  const edges: ViewEdge[] = [];
  for (const [key, there] of halves) {
    const [from = '', to = ''] = key.split('\n');
    if (from >= to) continue;
    const back = halves.get(`${to}\n${from}`);
    if (back === undefined) continue;
    const rtts = [there.rttMs, back.rttMs].filter((ms) => ms !== undefined);
    edges.push({
      a: from,
      b: to,
      costs: [there.cost, back.cost],
      ...(rtts.length === 0 ? {} : { rttMs: tenths(Math.min(...rtts)) }),
    });
  }
  return edges.sort((x, y) => x.a.localeCompare(y.a) || x.b.localeCompare(y.b));
}

function addressesOf(source: ConsoleSource, network: NetworkStatus): ViewAddress[] {
  const served = new Map(network.addresses.map((a) => [a.address, a.sites]));
  const listeners = new Map(source.listeners().map((l) => [l.address, l]));
  const connectors = new Map(source.connectors().map((c) => [c.address, c]));
  const stats = new Map([...source.metrics.addresses.entries()].map((s) => [s.address, s]));
  const names = new Set([...served.keys(), ...listeners.keys(), ...connectors.keys()]);
  for (const s of stats.values()) names.add(s.address);
  return [...names].sort().map((address) => {
    const listener = listeners.get(address);
    const connector = connectors.get(address);
    const s = stats.get(address);
    const view: ViewAddress = {
      address,
      sites: [...(served.get(address) ?? [])],
      dialFailures: s?.dialFailures ?? 0,
    };
    if (s !== undefined) {
      for (const side of SIDES) if (s[side].used) view[side] = endOf(s[side]);
    }
    if (listener !== undefined) view.listenerState = listener.state;
    if (connector !== undefined) view.connectorState = connector.state;
    const error = listener?.error ?? connector?.error;
    if (error !== undefined) view.error = error;
    return view;
  });
}

function endOf(end: EndStats): ViewEnd {
  return {
    opened: Object.fromEntries(OUTCOMES.map((outcome, i) => [outcome, end.opened[i] ?? 0])),
    open: end.open,
    receivedBytes: end.receivedBytes,
    sentBytes: end.sentBytes,
  };
}

function linkOf(
  info: LinkInfo,
  c: { sentBytes: number; receivedBytes: number; ups: number },
): ViewLink {
  return {
    name: info.name,
    direction: info.direction,
    peer: info.peerSiteName,
    cost: info.cost,
    state: info.state,
    since: info.since,
    ...(info.rttMs === undefined ? {} : { rttMs: tenths(info.rttMs) }),
    ...(info.lastError === undefined ? {} : { lastError: info.lastError }),
    streams: info.streams,
    sentBytes: c.sentBytes,
    receivedBytes: c.receivedBytes,
    reconnects: Math.max(0, c.ups - 1),
  };
}

/** An RTT to a tenth of a millisecond: every PING changes the microseconds, and each change is an event. */
function tenths(ms: number): number {
  return Math.round(ms * 10) / 10;
}
