import type { Socket } from 'node:net';
import type {
  AdminApi,
  ConnectorInfo,
  CreatedToken,
  LinkInfo,
  ListenerInfo,
  NetworkStatus,
  SiteStatus,
} from '../admin/api.js';
import type { Settings } from '../config/settings.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { LinkConnection } from '../link/connection.js';
import { LinkServer } from '../link/server.js';
import type { Logger } from '../log.js';
import { BufferMeter } from '../mux/meter.js';
import type { MuxStream } from '../mux/stream.js';
import { type OpenRequest, ResetCode } from '../protocol/frame.js';
import { isSiteAdvert, type SiteAdvert } from '../routing/advert.js';
import { StreamRelay } from '../routing/relay.js';
import { type Route, type RouteSummary, Routes } from '../routing/routes.js';
import type { StateStore } from '../state/store.js';
import { dialTarget, splice } from '../tcp/dial.js';
import { closeCleanly } from '../tcp/listen.js';
import { PipeState, StreamPipe } from '../tcp/pipe.js';
import { TokenIssuer } from '../token/issuer.js';
import { createRedeemHandler } from '../token/redeem-handler.js';
import { VERSION } from '../version.js';
import { Connectors } from './connectors.js';
import { linkUrl, siteInfo } from './create.js';
import { Links } from './links.js';
import { Listeners } from './listeners.js';
import { CA_SECRET, type GrantRecord, SERVER_SECRET, type SiteRecord } from './records.js';

export interface RouterOptions {
  site: SiteRecord;
  store: StateStore;
  settings: Settings;
  logger: Logger;
}

/**
 * A site's router: owns the links, listeners and connectors, and joins them: a client
 * connection at a listener becomes a stream to the chosen connector's site; a stream
 * arriving over a link is dialled to the local target. Implements the admin API.
 */
export class Router implements AdminApi {
  readonly meter = new BufferMeter();
  private readonly routes: Routes<LinkConnection>;
  /** Connections that are up: where adverts are flooded. */
  private readonly neighbours = new Set<LinkConnection>();
  private lastSummary = '';
  private forgetTimer: NodeJS.Timeout | undefined;
  private readonly connectors: Connectors;
  private readonly listeners: Listeners;
  private readonly links: Links;
  private issuer: TokenIssuer | undefined;
  private linkServer: LinkServer<GrantRecord> | undefined;
  private readonly startedAt = Date.now();
  private readonly streams = { active: 0, total: 0 };

  constructor(private readonly opts: RouterOptions) {
    const { site, store, settings, logger } = opts;
    this.routes = new Routes({ id: site.id, name: site.name });
    this.connectors = new Connectors(store, () => this.addressesChanged());
    this.listeners = new Listeners(store, logger, (address, socket) =>
      this.connectClient(address, socket),
    );
    this.links = new Links(site, store, settings, this.meter, logger, {
      up: (conn, cost) => this.neighbourUp(conn, cost),
      down: (conn) => this.neighbourDown(conn),
      control: (conn, msg) => this.control(conn, msg),
    });
  }

  async start(): Promise<void> {
    const { site, store, settings, logger } = this.opts;
    await this.connectors.load();
    this.routes.setLocal(this.connectors.addresses());
    this.logRoutes();
    this.forgetTimer = setInterval(() => {
      if (this.routes.topology.forget(Date.now(), FORGET_AFTER_MS)) this.logRoutes();
    }, 60_000).unref();
    await this.links.restore();
    if (site.linkAccess) {
      const caKey = await requireSecret(store, CA_SECRET);
      const serverKey = await requireSecret(store, SERVER_SECRET);
      this.issuer = new TokenIssuer({
        store,
        site: { id: site.id, name: site.name },
        ca: { certPem: site.caPem, keyPem: caKey },
        linkUrls: () => [linkUrl(site)],
        logger,
        onGrant: (grant: GrantRecord) => this.links.addGrant(grant),
      });
      this.linkServer = new LinkServer<GrantRecord>({
        host: bindHost(site.linkHost),
        port: site.linkBindPort ?? site.linkPort,
        certPem: site.serverCertPem,
        keyPem: serverKey,
        caPem: site.caPem,
        handshakeTimeoutMs: settings.handshakeTimeoutMs,
        maxMessageSize: settings.maxMessageSize,
        authorize: (serial) => this.links.authorize(serial),
        onLink: (ws, grant, remote) => this.links.accept(ws, grant, remote),
        onRedeem: createRedeemHandler(this.issuer, logger),
        logger,
      });
      await this.linkServer.listen();
    }
    await this.listeners.restore();
  }

  async stop(): Promise<void> {
    clearInterval(this.forgetTimer);
    this.links.close();
    await this.listeners.close();
    await this.linkServer?.close();
  }

  // ---- the service network ----

  private neighbourUp(conn: LinkConnection, cost: number): void {
    conn.mux.onStream = (stream, open) => this.serveStream(stream, open, conn);
    const own = this.routes.addNeighbour(conn, cost);
    this.neighbours.add(conn);
    conn.mux.sendControl({ type: 'adverts', adverts: this.routes.topology.all() });
    this.flood([own], conn);
    this.logRoutes();
  }

  private neighbourDown(conn: LinkConnection): void {
    if (!this.neighbours.delete(conn)) return;
    const own = this.routes.removeNeighbour(conn);
    if (own) this.flood([own]);
    this.logRoutes();
  }

  private control(from: LinkConnection, msg: Record<string, unknown>): void {
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
    for (const conn of this.neighbours) {
      if (conn !== except) conn.mux.sendControl({ type: 'adverts', adverts });
    }
  }

  private addressesChanged(): void {
    this.flood([this.routes.setLocal(this.connectors.addresses())]);
    this.logRoutes();
  }

  /** Logs the reachable sites and address map whenever they change: what tests and operators watch. */
  private logRoutes(): void {
    const summary: RouteSummary = this.routes.summary();
    const text = JSON.stringify(summary);
    if (text === this.lastSummary) return;
    this.lastSummary = text;
    this.opts.logger.info(summary, 'routes changed');
  }

  // ---- streams ----

  /** A client connected to a listener: to this site's own connector if it has one, else over the network. */
  private connectClient(address: string, socket: Socket): void {
    const route = this.routes.choose(address);
    if (route?.kind !== 'local') {
      this.sendRemote(address, socket, new Set([this.opts.site.id]), route);
      return;
    }
    const target = this.connectors.get(address)!;
    const untrack = this.connectors.track(address);
    dialTarget(target.host, target.port, this.opts.settings.connectTimeoutMs).then(
      (upstream) => {
        socket.once('close', untrack);
        splice(socket, upstream);
      },
      (err) => {
        untrack();
        this.opts.logger.warn(
          { address, err: describe(err) },
          'local target refused; trying other sites',
        );
        this.sendRemote(address, socket, new Set([this.opts.site.id]));
      },
    );
  }

  /**
   * Opens a stream to the best remote site serving the address. A reset before the stream
   * opened (target refused, no route, link lost) tries the next best site, so the client
   * only sees a failure when none is left.
   */
  private sendRemote(
    address: string,
    socket: Socket,
    tried: Set<string>,
    first?: Route<LinkConnection>,
  ): void {
    let route = first ?? this.routes.choose(address, tried);
    if (route?.kind !== 'remote') {
      this.opts.logger.warn({ address }, 'no connector reachable for address; closing client');
      closeCleanly(socket);
      return;
    }
    let untrack = this.routes.track(route.siteId);
    const pipe = this.newPipe(route.siteName, () => untrack());
    pipe.retry = (code, reason) => {
      untrack();
      tried.add((route as { siteId: string }).siteId);
      const next = tried.size <= MAX_ATTEMPTS ? this.routes.choose(address, tried) : undefined;
      this.opts.logger.debug(
        { address, code, reason, next: next?.kind === 'remote' ? next.siteName : undefined },
        'stream refused; retrying',
      );
      if (next?.kind !== 'remote') {
        untrack = () => undefined;
        return undefined;
      }
      route = next;
      untrack = this.routes.track(next.siteId);
      return next.via.mux.openStream({ address, dest: next.siteId, hops: 0 }, pipe);
    };
    pipe.stream = route.via.mux.openStream({ address, dest: route.siteId, hops: 0 }, pipe);
    pipe.attach(socket);
  }

  /** A stream arrived over a link: for this site's connector, or to be relayed towards its destination. */
  private serveStream(stream: MuxStream, open: OpenRequest, from: LinkConnection): void {
    const dest = typeof open.dest === 'string' ? open.dest : this.opts.site.id;
    if (dest !== this.opts.site.id) {
      this.relay(stream, open, dest, from);
      return;
    }
    const address = open.address;
    const target = this.connectors.get(address);
    if (target === undefined) {
      stream.reset(
        ResetCode.NO_ROUTE,
        `site ${this.opts.site.name} has no connector for "${address}"`,
      );
      return;
    }
    const untrack = this.connectors.track(address);
    const pipe = this.newPipe(address, untrack);
    pipe.stream = stream;
    stream.setHandler(pipe);
    dialTarget(target.host, target.port, this.opts.settings.connectTimeoutMs).then(
      (socket) => {
        pipe.attach(socket);
        if (pipe.state !== PipeState.Pending) return;
        stream.accept();
        pipe.start();
      },
      (err) =>
        pipe.abort(`target ${target.host}:${target.port}: ${describe(err)}`, ResetCode.REFUSED),
    );
  }

  /** The transit hop of a multi-hop stream: open the next hop and join the two. */
  private relay(stream: MuxStream, open: OpenRequest, dest: string, from: LinkConnection): void {
    const hops = (typeof open.hops === 'number' ? open.hops : 0) + 1;
    const via = this.routes.nextHop(dest);
    if (hops > MAX_HOPS || via === undefined || via === from) {
      const why = hops > MAX_HOPS ? 'too many hops' : `no path from ${this.opts.site.name}`;
      stream.reset(ResetCode.NO_ROUTE, `${why} to the site serving "${open.address}"`);
      return;
    }
    this.streams.active++;
    this.streams.total++;
    const relay = new StreamRelay(stream, () => {
      this.streams.active--;
    });
    stream.setHandler(relay.upstreamHandler);
    relay.connect(
      via.mux.openStream({ address: open.address, dest, hops }, relay.downstreamHandler),
    );
  }

  private newPipe(label: string, onDone?: () => void): StreamPipe {
    this.streams.active++;
    this.streams.total++;
    return new StreamPipe(this.opts.logger.child({ via: label }), () => {
      this.streams.active--;
      onDone?.();
    });
  }

  // ---- admin API ----

  async status(): Promise<SiteStatus> {
    return {
      site: siteInfo(this.opts.site),
      version: VERSION,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      links: this.links.list(),
      listeners: this.listeners.list(),
      connectors: this.connectors.list(),
      addresses: this.routes.addresses(),
      streams: { ...this.streams },
      buffered: { current: this.meter.current, peak: this.meter.peak },
    };
  }

  async createToken(req: { expiryMs: number; uses: number }): Promise<CreatedToken> {
    if (!this.issuer) {
      throw new SkiffError(
        ErrorCode.NO_LINK_ACCESS,
        `site ${this.opts.site.name} was created with --no-link-access, so no site can link to it; create tokens on a site that accepts links`,
      );
    }
    return this.issuer.issue(req);
  }

  createLink(req: { token: string; name?: string; cost: number }): Promise<LinkInfo> {
    return this.links.create(req);
  }

  deleteLink(name: string): Promise<void> {
    return this.links.delete(name);
  }

  async listLinks(): Promise<LinkInfo[]> {
    return this.links.list();
  }

  expose(req: { address: string; host: string; port: number }): Promise<ConnectorInfo> {
    this.opts.logger.info(req, 'address exposed');
    return this.connectors.expose(req);
  }

  async unexpose(address: string): Promise<void> {
    if (!(await this.connectors.unexpose(address))) {
      throw new SkiffError(
        ErrorCode.NOT_FOUND,
        `"${address}" is not exposed at this site; see skiff status`,
      );
    }
  }

  createListener(req: { address: string; host: string; port: number }): Promise<ListenerInfo> {
    return this.listeners.create(req);
  }

  deleteListener(address: string): Promise<void> {
    return this.listeners.delete(address);
  }

  async listListeners(): Promise<ListenerInfo[]> {
    return this.listeners.list();
  }

  async networkStatus(): Promise<NetworkStatus> {
    return this.routes.network();
  }

  async debugDump(): Promise<string> {
    const dump = {
      status: await this.status(),
      network: await this.networkStatus(),
      settings: this.opts.settings,
      node: process.version,
      memory: process.memoryUsage(),
    };
    return `${JSON.stringify(dump, null, 2)}\n`;
  }
}

/** Transit hops a stream may take before it is refused: a guard against loops during churn. */
const MAX_HOPS = 32;
/** Sites tried for one client connection before it is closed. */
const MAX_ATTEMPTS = 8;
/** An unreachable site is shown in network status for this long, then forgotten. */
const FORGET_AFTER_MS = 10 * 60_000;

async function requireSecret(store: StateStore, name: string): Promise<string> {
  const pem = await store.getSecret(name);
  if (pem === undefined) {
    throw new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `the site's ${name} key is missing from its state`,
    );
  }
  return pem;
}

/** An IP link host is bound as given; a name means "reachable under that name": bind all. */
function bindHost(linkHost: string): string {
  return /^[\d.]+$/.test(linkHost) || linkHost.includes(':') ? linkHost : '0.0.0.0';
}
