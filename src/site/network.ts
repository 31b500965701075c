import type { AddressInfo, NetworkStatus } from '../admin/api.js';
import type { Settings } from '../config/settings.js';
import type { LinkConnection } from '../link/connection.js';
import type { AdvertsMessage } from '../link/control-messages.js';
import type { Logger } from '../log.js';
import type { AdvertResult, RoutingCounts } from '../metrics/source.js';
import type { MuxStream } from '../mux/stream.js';
import { spkiBase64OfCert } from '../pki/index.js';
import type { OpenRequest } from '../protocol/frame.js';
import { type SignedAdvert, signAdvert } from '../routing/advert.js';
import { type Route, type RouteSummary, Routes, type ServedAddress } from '../routing/routes.js';

/** An unreachable site is shown in network status for this long, then forgotten. */
const FORGET_AFTER_MS = 10 * 60_000;
/** Room in a message for the frame header and the `{"type":"adverts","adverts":[]}` around them. */
const MESSAGE_OVERHEAD = 1024;
/** Refused adverts are logged at most this often per link, with a count. */
const REFUSAL_LOG_MS = 10_000;

export interface NetworkSite {
  id: string;
  name: string;
  /** The site CA certificate and key: every advert of this site is signed with it. */
  caPem: string;
  caKeyPem: string;
}

/**
 * The site's part in the service network: keeps its neighbours, floods adverts over the
 * links (docs/decisions/0005-link-state-routing.md) and answers where a stream goes.
 * Adverts are signed by their originating site and checked here before they are stored
 * or relayed (docs/decisions/0009-trust-model.md); signing happens only when this site's
 * own advert changes, never on the stream path.
 */
export class ServiceNetwork {
  private readonly routes: Routes<LinkConnection>;
  private lastSummary = '';
  private readonly forgetTimer: NodeJS.Timeout;
  private readonly refusals = new WeakMap<LinkConnection, { count: number; loggedAt: number }>();
  private advertsSent = 0;
  private readonly advertsReceived: Record<AdvertResult, number> = {
    news: 0,
    old: 0,
    refused: 0,
    own: 0,
  };
  private routeChanges = 0;
  /** Told after anything routing depends on may have changed (proxy Services follow it). */
  private readonly routeWatchers = new Set<() => void>();

  constructor(
    site: NetworkSite,
    private readonly settings: Settings,
    private readonly logger: Logger,
    /** Streams arriving over a link. */
    private readonly onStream: (stream: MuxStream, open: OpenRequest, from: LinkConnection) => void,
  ) {
    const key = spkiBase64OfCert(site.caPem);
    this.routes = new Routes(site, {
      sign: (advert) => signAdvert(advert, site.caKeyPem, key),
      limits: settings,
    });
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

  /** Every address a reachable site serves, with its advertised ports. */
  served(): ServedAddress[] {
    return this.routes.served();
  }

  /** Calls `watcher` after every change of adverts or links; returns the unsubscribe. */
  onRoutes(watcher: () => void): () => void {
    this.routeWatchers.add(watcher);
    return () => this.routeWatchers.delete(watcher);
  }

  /** Whether some advert held lists the address (reachable or not): one set lookup. */
  knows(address: string): boolean {
    return this.routes.topology.addresses().has(address);
  }

  counts(): RoutingCounts {
    const summary = this.routes.summary();
    return {
      sitesKnown: this.routes.topology.size,
      sitesReachable: summary.reachable.length,
      addresses: Object.keys(summary.addresses).length,
      advertsSent: this.advertsSent,
      advertsReceived: { ...this.advertsReceived },
      routeChanges: this.routeChanges,
    };
  }

  /** This site's connectors changed: tell the network (their ports ride along). */
  setLocal(addresses: string[], ports: Record<string, number[]> = {}): void {
    this.flood([this.routes.setLocal(addresses, ports)]);
    this.logRoutes();
  }

  neighbourUp(conn: LinkConnection, cost: number): void {
    conn.mux.onStream = (stream, open) => this.onStream(stream, open, conn);
    conn.onRtt = () => {
      const own = this.routes.rttChanged(conn);
      if (own) this.flood([own]);
    };
    const own = this.routes.addNeighbour(conn, cost);
    this.send(conn, this.routes.topology.allSigned());
    this.flood([own], conn);
    this.logRoutes();
  }

  /** A link that is up has a new cost: route with it and tell the network. */
  neighbourCost(conn: LinkConnection, cost: number): void {
    this.flood([this.routes.addNeighbour(conn, cost)]);
    this.logRoutes();
  }

  /** Whether a stream for the address would find a site now (this one included). */
  serves(address: string): boolean {
    return this.routes.choose(address) !== undefined;
  }

  neighbourDown(conn: LinkConnection): void {
    const own = this.routes.removeNeighbour(conn);
    if (own === undefined) return;
    this.flood([own]);
    this.logRoutes();
  }

  /** Adverts from a neighbour: news is stored and passed on; what was refused never is. */
  control(from: LinkConnection, msg: AdvertsMessage): void {
    const news: SignedAdvert[] = [];
    for (const value of msg.adverts) {
      const received = this.routes.receive(value);
      this.advertsReceived[received.kind]++;
      if (received.kind === 'news') news.push(received.signed);
      else if (received.kind === 'own') this.flood([received.flood]);
      else if (received.kind === 'refused') this.refused(from, received.reason);
    }
    if (news.length === 0) return;
    this.flood(news, from);
    this.logRoutes();
  }

  /** Sends adverts to every neighbour but the one they came from. */
  private flood(adverts: SignedAdvert[], except?: LinkConnection): void {
    for (const conn of this.routes.peers()) {
      if (conn !== except) this.send(conn, adverts);
    }
  }

  /** Packs adverts into messages that fit maxMessageSize (a whole table may not fit one). */
  private send(conn: LinkConnection, adverts: SignedAdvert[]): void {
    const budget = Math.max(this.settings.maxMessageSize - MESSAGE_OVERHEAD, MESSAGE_OVERHEAD);
    let batch: SignedAdvert[] = [];
    let size = 0;
    for (const advert of adverts) {
      const bytes = advert.body.length * 2 + advert.key.length + advert.sig.length + 32;
      if (bytes > budget) {
        this.logger.warn({ link: conn.name }, 'an advert is larger than one message; not sent');
        continue;
      }
      if (size + bytes > budget) {
        this.sendBatch(conn, batch);
        batch = [];
        size = 0;
      }
      batch.push(advert);
      size += bytes;
    }
    if (batch.length > 0) this.sendBatch(conn, batch);
  }

  private sendBatch(conn: LinkConnection, adverts: SignedAdvert[]): void {
    conn.mux.sendControl({ type: 'adverts', adverts });
    this.advertsSent += adverts.length;
  }

  private refused(from: LinkConnection, reason: string): void {
    const now = Date.now();
    const seen = this.refusals.get(from) ?? { count: 0, loggedAt: 0 };
    this.refusals.set(from, seen);
    seen.count++;
    if (now - seen.loggedAt < REFUSAL_LOG_MS) return;
    this.logger.warn({ link: from.name, refused: seen.count, reason }, 'advert refused');
    seen.loggedAt = now;
    seen.count = 0;
  }

  /** Logs the reachable sites and address map whenever they change: what tests and operators watch. */
  private logRoutes(): void {
    for (const watcher of this.routeWatchers) watcher();
    const summary: RouteSummary = this.routes.summary();
    const text = JSON.stringify(summary);
    if (text === this.lastSummary) return;
    this.lastSummary = text;
    this.routeChanges++;
    this.logger.info(summary, 'routes changed');
  }
}
