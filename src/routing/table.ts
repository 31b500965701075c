import type { AddressInfo } from '../admin/api.js';

/** What a stream for an address can be sent to: this site's own connector, or a peer. */
export interface Peer {
  readonly siteName: string;
  /** Streams open towards this peer now: the tie-breaker between equal costs. */
  readonly outstanding: number;
}

export type Route<P extends Peer> = { kind: 'local' } | { kind: 'peer'; peer: P; cost: number };

interface PeerEntry {
  cost: number;
  addresses: Set<string>;
}

/**
 * Which addresses are served where, as far as this site can see: its own connectors
 * (cost 0) and what each linked peer advertised over its link. Choosing a route takes
 * the lowest cost and, among equals, the peer with the fewest outstanding streams.
 */
export class RoutingTable<P extends Peer> {
  private local = new Set<string>();
  private readonly peers = new Map<P, PeerEntry>();

  constructor(private readonly siteName: string) {}

  setLocal(addresses: Iterable<string>): void {
    this.local = new Set(addresses);
  }

  setPeer(peer: P, cost: number, addresses: Iterable<string>): void {
    this.peers.set(peer, { cost, addresses: new Set(addresses) });
  }

  removePeer(peer: P): void {
    this.peers.delete(peer);
  }

  choose(address: string, exclude?: ReadonlySet<P>): Route<P> | undefined {
    if (this.local.has(address)) return { kind: 'local' };
    let best: P | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const [peer, entry] of this.peers) {
      if (!entry.addresses.has(address) || exclude?.has(peer)) continue;
      if (
        entry.cost < bestCost ||
        (entry.cost === bestCost && best !== undefined && peer.outstanding < best.outstanding)
      ) {
        best = peer;
        bestCost = entry.cost;
      }
    }
    return best === undefined ? undefined : { kind: 'peer', peer: best, cost: bestCost };
  }

  /** Every known address and the sites that serve it, sorted for stable output. */
  addresses(): AddressInfo[] {
    const sites = new Map<string, Set<string>>();
    const add = (address: string, site: string) => {
      const set = sites.get(address) ?? new Set<string>();
      set.add(site);
      sites.set(address, set);
    };
    for (const a of this.local) add(a, this.siteName);
    for (const [peer, entry] of this.peers) for (const a of entry.addresses) add(a, peer.siteName);
    return [...sites.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([address, set]) => ({ address, sites: [...set].sort() }));
  }
}
