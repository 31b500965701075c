import type { AddressInfo, NetworkStatus } from '../admin/api.js';
import type { LinkConnection } from '../link/connection.js';
import type { Logger } from '../log.js';
import type { MuxStream } from '../mux/stream.js';
import type { OpenRequest } from '../protocol/frame.js';
import { isSiteAdvert, type SiteAdvert } from '../routing/advert.js';
import { type Route, type RouteSummary, Routes } from '../routing/routes.js';

/** An unreachable site is shown in network status for this long, then forgotten. */
const FORGET_AFTER_MS = 10 * 60_000;

/**
 * The site's part in the service network: keeps its neighbours, floods adverts over the
 * links (docs/decisions/0005-link-state-routing.md) and answers where a stream goes.
 */
export class ServiceNetwork {
  private readonly routes: Routes<LinkConnection>;
  private lastSummary = '';
  private readonly forgetTimer: NodeJS.Timeout;

  constructor(
    site: { id: string; name: string },
    private readonly logger: Logger,
    /** Streams arriving over a link. */
    private readonly onStream: (stream: MuxStream, open: OpenRequest, from: LinkConnection) => void,
  ) {
    this.routes = new Routes(site);
    this.forgetTimer = setInterval(() => {
      if (this.routes.topology.forget(Date.now(), FORGET_AFTER_MS)) this.logRoutes();
    }, 60_000).unref();
  }

  stop(): void {
    clearInterval(this.forgetTimer);
  }

  choose(address: string, exclude?: ReadonlySet<string>): Route<LinkConnection> | undefined {
    return this.routes.choose(address, exclude);
  }

  nextHop(siteId: string): LinkConnection | undefined {
    return this.routes.nextHop(siteId);
  }

  track(siteId: string): () => void {
    return this.routes.track(siteId);
  }

  addresses(): AddressInfo[] {
    return this.routes.addresses();
  }

  status(): NetworkStatus {
    return this.routes.network();
  }

  /** This site's connectors changed: tell the network. */
  setLocal(addresses: string[]): void {
    this.flood([this.routes.setLocal(addresses)]);
    this.logRoutes();
  }

  neighbourUp(conn: LinkConnection, cost: number): void {
    conn.mux.onStream = (stream, open) => this.onStream(stream, open, conn);
    conn.onRtt = () => {
      const own = this.routes.rttChanged(conn);
      if (own) this.flood([own]);
    };
    const own = this.routes.addNeighbour(conn, cost);
    conn.mux.sendControl({ type: 'adverts', adverts: this.routes.topology.all() });
    this.flood([own], conn);
    this.logRoutes();
  }

  neighbourDown(conn: LinkConnection): void {
    const own = this.routes.removeNeighbour(conn);
    if (own === undefined) return;
    this.flood([own]);
    this.logRoutes();
  }

  control(from: LinkConnection, msg: Record<string, unknown>): void {
    if (msg.type !== 'adverts' || !Array.isArray(msg.adverts)) return;
    const news: SiteAdvert[] = [];
    for (const advert of msg.adverts) {
      if (!isSiteAdvert(advert)) continue;
      const { forward, flood } = this.routes.receive(advert);
      if (forward) news.push(advert);
      if (flood) this.flood([flood]);
    }
    if (news.length === 0) return;
    this.flood(news, from);
    this.logRoutes();
  }

  /** Sends adverts to every neighbour but the one they came from. */
  private flood(adverts: SiteAdvert[], except?: LinkConnection): void {
    for (const conn of this.routes.peers()) {
      if (conn !== except) conn.mux.sendControl({ type: 'adverts', adverts });
    }
  }

  /** Logs the reachable sites and address map whenever they change: what tests and operators watch. */
  private logRoutes(): void {
    const summary: RouteSummary = this.routes.summary();
    const text = JSON.stringify(summary);
    if (text === this.lastSummary) return;
    this.lastSummary = text;
    this.logger.info(summary, 'routes changed');
  }
}
