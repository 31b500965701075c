import type { AddressInfo, NetworkStatus } from '../admin/api.js';
import {
  type AdvertLimits,
  MAX_PORTS_PER_ADDRESS,
  nextSeq,
  parseAdvertBody,
  parseSignedAdvert,
  type SignedAdvert,
  type SiteAdvert,
  verifyAdvert,
} from './advert.js';
import { Topology } from './topology.js';

/** A live connection to a neighbouring site, as routing sees it. */
export interface Peer {
  readonly peerSiteId: string;
  /** Streams open on this connection now: balances between parallel links to one site. */
  readonly outstanding: number;
  readonly rttMs: number | undefined;
  /** False once the peer sent GOAWAY (it is draining): it gets no new streams. */
  readonly accepting: boolean;
}

/** Where a new stream for an address goes. */
export type Route<P extends Peer> =
  | { kind: 'local' }
  | { kind: 'remote'; siteId: string; siteName: string; cost: number; via: P };

/** An address some reachable site serves, with the ports apps use for it there. */
export interface ServedAddress {
  address: string;
  /** Sorted, distinct; empty when no serving site advertises ports (an older router). */
  ports: number[];
  sites: string[];
}

/** What `routes changed` logs: the reachable sites and who serves each address. */
export interface RouteSummary {
  reachable: string[];
  addresses: Record<string, string[]>;
}

export interface RoutesOptions {
  /** Signs this site's own advert with its CA key (advert.ts signAdvert). */
  sign(advert: SiteAdvert): SignedAdvert;
  limits: AdvertLimits;
}

/** What became of an advert a peer sent. */
export type Received =
  /** News: stored, and to be passed on unchanged to the other neighbours. */
  | { kind: 'news'; signed: SignedAdvert }
  /** Not newer than what is held: dropped quietly (floods bring many copies). */
  | { kind: 'old' }
  /** Malformed, out of bounds, unsigned or forged, or no room: never stored or relayed. */
  | { kind: 'refused'; reason: string }
  /** One of ours, newer than ours (we restarted): `flood` is ours re-issued above it. */
  | { kind: 'own'; flood: SignedAdvert };

interface Load {
  outstanding: number;
  /** When this site was last chosen (a counter): the least recent wins a tie. */
  lastPick: number;
}

/**
 * This site's view of the service network: its neighbours, its own advert, the link-state
 * database, and the choice of where a stream goes. Pure bookkeeping: the router sends the
 * adverts this returns and opens the streams.
 */
export class Routes<P extends Peer> {
  readonly topology: Topology;
  private readonly neighbours = new Map<P, number>();
  private localAddresses: string[] = [];
  private localPorts: Record<string, number[]> = {};
  private seq = 0;
  private ownSigned!: SignedAdvert;
  /** Streams this site sent to each destination site: the balance between equal costs. */
  private readonly load = new Map<string, Load>();
  private picks = 0;

  constructor(
    private readonly self: { id: string; name: string },
    private readonly opts: RoutesOptions,
  ) {
    this.topology = new Topology(self.id, opts.limits.maxSites);
    this.originate();
  }

  /** This site's current advert. */
  own(): SiteAdvert {
    return this.topology.get(this.self.id)!;
  }

  addNeighbour(peer: P, cost: number): SignedAdvert {
    this.neighbours.set(peer, cost);
    return this.originate();
  }

  /** The live connections to neighbours: where adverts are flooded. */
  peers(): IterableIterator<P> {
    return this.neighbours.keys();
  }

  /** Returns the new advert, or undefined if the peer was not a neighbour. */
  removeNeighbour(peer: P): SignedAdvert | undefined {
    return this.neighbours.delete(peer) ? this.originate() : undefined;
  }

  /** This site's addresses, and the ports apps use for each (advertised for proxy Services). */
  setLocal(addresses: string[], ports: Record<string, number[]> = {}): SignedAdvert {
    this.localAddresses = [...addresses].sort();
    this.localPorts = {};
    for (const address of this.localAddresses) {
      const list = ports[address];
      if (list !== undefined && list.length > 0) {
        this.localPorts[address] = [...new Set(list)]
          .sort((a, b) => a - b)
          .slice(0, MAX_PORTS_PER_ADDRESS);
      }
    }
    return this.originate();
  }

  /**
   * A neighbour's RTT was measured. Returns a fresh advert when the one the network holds
   * has no RTT for that link yet or it moved by more than a quarter (and 1 ms): RTTs ride
   * on adverts without flooding the network on every ping.
   */
  rttChanged(peer: P): SignedAdvert | undefined {
    const ms = peer.rttMs;
    if (ms === undefined || !this.neighbours.has(peer)) return undefined;
    const advertised = this.own().rtt?.[peer.peerSiteId];
    if (advertised !== undefined && Math.abs(ms - advertised) <= Math.max(1, advertised / 4)) {
      return undefined;
    }
    return this.originate();
  }

  /**
   * Takes an advert a peer sent (any JSON value). It is parsed into bounded values; one
   * not newer than what is held is dropped before its signature is checked, so each new
   * body is verified once however many copies a flood brings; a new one must be signed
   * by the key its site id derives from, and there must be room for a new site. An advert
   * of our own that is newer than ours (we restarted faster than the clock moved) makes
   * ours re-issued above it.
   */
  receive(value: unknown): Received {
    const signed = parseSignedAdvert(value, this.opts.limits);
    if (typeof signed === 'string') return { kind: 'refused', reason: signed };
    const advert = parseAdvertBody(signed.body, this.opts.limits);
    if (typeof advert === 'string') return { kind: 'refused', reason: advert };
    if (advert.siteId === this.self.id) {
      if (advert.seq < this.seq || (advert.seq === this.seq && signed.body === this.ownSigned.body))
        return { kind: 'old' };
      if (!verifyAdvert(signed, advert))
        return { kind: 'refused', reason: `an advert for this site is not signed by it` };
      this.seq = advert.seq;
      return { kind: 'own', flood: this.originate() };
    }
    if (!this.topology.isNewer(advert.siteId, advert.seq)) return { kind: 'old' };
    if (this.topology.isFullFor(advert.siteId)) {
      return {
        kind: 'refused',
        reason: `maxSites (${this.opts.limits.maxSites}) sites are known; advert of new site ${advert.siteId} refused`,
      };
    }
    if (!verifyAdvert(signed, advert)) {
      return {
        kind: 'refused',
        reason: `the advert for site ${advert.siteId} is not signed by the key of that id`,
      };
    }
    this.topology.accept(advert, signed);
    return { kind: 'news', signed };
  }

  choose(address: string, exclude?: ReadonlySet<string>): Route<P> | undefined {
    const paths = this.topology.paths();
    let best: SiteAdvert | undefined;
    let bestVia: P | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const advert of this.topology.all()) {
      if (exclude?.has(advert.siteId) || !advert.addresses.includes(address)) continue;
      const path = paths.get(advert.siteId);
      if (path === undefined) continue;
      // A site whose next hop is draining is skipped: the next best takes the stream.
      const via = advert.siteId === this.self.id ? undefined : this.nextHop(advert.siteId);
      if (via === undefined && advert.siteId !== this.self.id) continue;
      if (
        path.cost < bestCost ||
        (path.cost === bestCost && this.lighter(advert.siteId, best!.siteId))
      ) {
        best = advert;
        bestVia = via;
        bestCost = path.cost;
      }
    }
    if (best === undefined) return undefined;
    if (bestVia === undefined) return { kind: 'local' };
    return {
      kind: 'remote',
      siteId: best.siteId,
      siteName: best.siteName,
      cost: bestCost,
      via: bestVia,
    };
  }

  /** The connection a stream for `siteId` leaves through, or undefined if unreachable. */
  nextHop(siteId: string): P | undefined {
    const path = this.topology.paths().get(siteId);
    if (path === undefined || siteId === this.self.id) return undefined;
    let best: P | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    for (const [peer, cost] of this.neighbours) {
      if (peer.peerSiteId !== path.nextHop || !peer.accepting) continue;
      if (cost < bestCost || (cost === bestCost && peer.outstanding < best!.outstanding)) {
        best = peer;
        bestCost = cost;
      }
    }
    return best;
  }

  /** Counts a stream sent to `siteId`; call the result when it ends. */
  track(siteId: string): () => void {
    const load = this.load.get(siteId) ?? { outstanding: 0, lastPick: 0 };
    this.load.set(siteId, load);
    load.outstanding++;
    load.lastPick = ++this.picks;
    return () => {
      load.outstanding--;
    };
  }

  /** Reachable sites serving each address, sorted. */
  addresses(): AddressInfo[] {
    return Object.entries(this.summary().addresses).map(([address, sites]) => ({ address, sites }));
  }

  /**
   * Every address reachable sites serve, with the ports those sites advertise for it
   * (their union, sorted) and the sites' names: what proxy Services are made from.
   */
  served(): ServedAddress[] {
    const paths = this.topology.paths();
    const byAddress = new Map<string, { ports: Set<number>; sites: string[] }>();
    for (const advert of this.topology.all()) {
      if (!paths.has(advert.siteId)) continue;
      for (const address of advert.addresses) {
        const entry = byAddress.get(address) ?? { ports: new Set<number>(), sites: [] };
        byAddress.set(address, entry);
        entry.sites.push(advert.siteName);
        for (const port of advert.ports?.[address] ?? []) entry.ports.add(port);
      }
    }
    return [...byAddress.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([address, { ports, sites }]) => ({
        address,
        ports: [...ports].sort((a, b) => a - b),
        sites: sites.sort(),
      }));
  }

  summary(): RouteSummary {
    const paths = this.topology.paths();
    const reachable: string[] = [];
    const addresses: Record<string, string[]> = {};
    for (const advert of this.topology.all()) {
      if (!paths.has(advert.siteId)) continue;
      reachable.push(advert.siteName);
      for (const address of advert.addresses) {
        const sites = addresses[address] ?? [];
        sites.push(advert.siteName);
        addresses[address] = sites;
      }
    }
    const sorted: Record<string, string[]> = {};
    for (const key of Object.keys(addresses).sort()) sorted[key] = addresses[key]!.sort();
    return { reachable: reachable.sort(), addresses: sorted };
  }

  /** Every site and link known, reachable or not; RTTs for this site's own links. */
  network(): NetworkStatus {
    const paths = this.topology.paths();
    const adverts = this.topology.all().sort((a, b) => a.siteName.localeCompare(b.siteName));
    const nameOf = (id: string) => this.topology.get(id)?.siteName ?? id;
    const rtt = new Map<string, number>();
    for (const peer of this.neighbours.keys()) {
      if (peer.rttMs !== undefined) rtt.set(peer.peerSiteId, peer.rttMs);
    }
    return {
      sites: adverts.map((a) => ({
        id: a.siteId,
        name: a.siteName,
        reachable: paths.has(a.siteId),
        addresses: [...a.addresses],
      })),
      links: adverts.flatMap((a) =>
        Object.entries(a.links).map(([peerId, cost]) => {
          const ms = a.siteId === this.self.id ? rtt.get(peerId) : a.rtt?.[peerId];
          return {
            from: a.siteName,
            to: nameOf(peerId),
            cost,
            ...(ms === undefined ? {} : { rttMs: ms }),
          };
        }),
      ),
      addresses: this.addresses(),
    };
  }

  /**
   * Fewer open streams wins; then the site chosen least recently: round-robin for short
   * connections, and a site that rejoins takes its share at once without being flooded.
   */
  private lighter(a: string, b: string): boolean {
    const la = this.load.get(a) ?? { outstanding: 0, lastPick: 0 };
    const lb = this.load.get(b) ?? { outstanding: 0, lastPick: 0 };
    return (
      la.outstanding < lb.outstanding ||
      (la.outstanding === lb.outstanding && la.lastPick < lb.lastPick)
    );
  }

  private originate(): SignedAdvert {
    const links: Record<string, number> = {};
    for (const [peer, cost] of this.neighbours) {
      const known = links[peer.peerSiteId];
      if (known === undefined || cost < known) links[peer.peerSiteId] = cost;
    }
    const rtt: Record<string, number> = {};
    for (const peer of this.neighbours.keys()) {
      if (peer.rttMs !== undefined && links[peer.peerSiteId] !== undefined) {
        rtt[peer.peerSiteId] = Math.round(peer.rttMs * 10) / 10;
      }
    }
    this.seq = nextSeq(this.seq);
    const advert: SiteAdvert = {
      siteId: this.self.id,
      siteName: this.self.name,
      seq: this.seq,
      links,
      addresses: this.localAddresses,
      ports: this.localPorts,
      rtt,
    };
    this.ownSigned = this.opts.sign(advert);
    this.topology.accept(advert, this.ownSigned);
    return this.ownSigned;
  }
}
