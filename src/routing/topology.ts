import type { SignedAdvert, SiteAdvert } from './advert.js';

/** How this site reaches another: total path cost and the neighbour to send through. */
export interface Path {
  cost: number;
  /** Site id of the first hop (a direct neighbour), or this site itself for the self path. */
  nextHop: string;
}

/**
 * The link-state database: the newest advert of every site heard of, and shortest paths
 * from this site over it (Dijkstra). A link counts only when both ends advertise it, so a
 * site that vanished without a word stops being a path as soon as its neighbours say so.
 */
export class Topology {
  private readonly adverts = new Map<string, SiteAdvert>();
  /** Each advert as its originator signed it, to relay unchanged. */
  private readonly signed = new Map<string, SignedAdvert>();
  /** When each site was last reachable, to forget sites that are gone for good. */
  private readonly lastReachable = new Map<string, number>();
  private cachedPaths: Map<string, Path> | undefined;
  private cachedAddresses: Set<string> | undefined;

  /** `maxSites`: adverts of new sites beyond this many are refused (the table stays bounded). */
  constructor(
    readonly selfId: string,
    private readonly maxSites = Number.POSITIVE_INFINITY,
  ) {}

  /** Whether an advert with this seq would replace what we hold for its site. */
  isNewer(siteId: string, seq: number): boolean {
    const current = this.adverts.get(siteId);
    return current === undefined || current.seq < seq;
  }

  /** True when an advert of a site not yet known would be refused for lack of room. */
  isFullFor(siteId: string): boolean {
    return !this.adverts.has(siteId) && this.adverts.size >= this.maxSites;
  }

  /**
   * Stores the advert (and the signed form it came in) if it is newer than what we have
   * and there is room; returns whether it was stored.
   */
  accept(advert: SiteAdvert, signed?: SignedAdvert): boolean {
    if (!this.isNewer(advert.siteId, advert.seq) || this.isFullFor(advert.siteId)) return false;
    this.adverts.set(advert.siteId, advert);
    if (signed) this.signed.set(advert.siteId, signed);
    else this.signed.delete(advert.siteId);
    this.cachedPaths = undefined;
    this.cachedAddresses = undefined;
    return true;
  }

  /** Every advert held in its signed form, to hand a new neighbour the whole table. */
  allSigned(): SignedAdvert[] {
    return [...this.signed.values()];
  }

  get(siteId: string): SiteAdvert | undefined {
    return this.adverts.get(siteId);
  }

  all(): SiteAdvert[] {
    return [...this.adverts.values()];
  }

  paths(): Map<string, Path> {
    this.cachedPaths ??= this.compute();
    return this.cachedPaths;
  }

  /** Every address some held advert lists, reachable or not (a set kept until the next change). */
  addresses(): ReadonlySet<string> {
    if (this.cachedAddresses === undefined) {
      this.cachedAddresses = new Set();
      for (const advert of this.adverts.values()) {
        for (const address of advert.addresses) this.cachedAddresses.add(address);
      }
    }
    return this.cachedAddresses;
  }

  get size(): number {
    return this.adverts.size;
  }

  /** Drops sites unreachable for longer than `maxAgeMs`; returns whether any were dropped. */
  forget(now: number, maxAgeMs: number): boolean {
    const paths = this.paths();
    let dropped = false;
    for (const siteId of this.adverts.keys()) {
      if (paths.has(siteId)) {
        this.lastReachable.set(siteId, now);
      } else if (now - (this.lastReachable.get(siteId) ?? now) > maxAgeMs) {
        this.adverts.delete(siteId);
        this.signed.delete(siteId);
        this.lastReachable.delete(siteId);
        dropped = true;
      } else if (!this.lastReachable.has(siteId)) {
        this.lastReachable.set(siteId, now);
      }
    }
    if (dropped) {
      this.cachedPaths = undefined;
      this.cachedAddresses = undefined;
    }
    return dropped;
  }

  private compute(): Map<string, Path> {
    const done = new Map<string, Path>();
    const frontier = new Map<string, Path>([[this.selfId, { cost: 0, nextHop: this.selfId }]]);
    while (frontier.size > 0) {
      let bestId = '';
      let best: Path | undefined;
      for (const [id, path] of frontier) {
        if (
          best === undefined ||
          path.cost < best.cost ||
          (path.cost === best.cost && id < bestId)
        ) {
          bestId = id;
          best = path;
        }
      }
      frontier.delete(bestId);
      done.set(bestId, best!);
      const advert = this.adverts.get(bestId);
      if (advert === undefined) continue;
      for (const [peerId, cost] of Object.entries(advert.links)) {
        if (done.has(peerId)) continue;
        if (this.adverts.get(peerId)?.links[bestId] === undefined) continue; // one-way: not a path
        const total = best!.cost + cost;
        const nextHop = bestId === this.selfId ? peerId : best!.nextHop;
        const known = frontier.get(peerId);
        if (known === undefined || total < known.cost)
          frontier.set(peerId, { cost: total, nextHop });
      }
    }
    return done;
  }
}
