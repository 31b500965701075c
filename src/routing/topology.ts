import type { SiteAdvert } from './advert.js';

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
  /** When each site was last reachable, to forget sites that are gone for good. */
  private readonly lastReachable = new Map<string, number>();
  private cachedPaths: Map<string, Path> | undefined;

  constructor(readonly selfId: string) {}

  /** Stores the advert if it is newer than what we have; returns whether it was. */
  accept(advert: SiteAdvert): boolean {
    const current = this.adverts.get(advert.siteId);
    if (current !== undefined && current.seq >= advert.seq) return false;
    this.adverts.set(advert.siteId, advert);
    this.cachedPaths = undefined;
    return true;
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

  /** Drops sites unreachable for longer than `maxAgeMs`; returns whether any were dropped. */
  forget(now: number, maxAgeMs: number): boolean {
    const paths = this.paths();
    let dropped = false;
    for (const siteId of this.adverts.keys()) {
      if (paths.has(siteId)) {
        this.lastReachable.set(siteId, now);
      } else if (now - (this.lastReachable.get(siteId) ?? now) > maxAgeMs) {
        this.adverts.delete(siteId);
        this.lastReachable.delete(siteId);
        dropped = true;
      } else if (!this.lastReachable.has(siteId)) {
        this.lastReachable.set(siteId, now);
      }
    }
    if (dropped) this.cachedPaths = undefined;
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
