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
import { ResetCode } from '../protocol/frame.js';
import { RoutingTable } from '../routing/table.js';
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
  private readonly routing: RoutingTable<LinkConnection>;
  private readonly connectors: Connectors;
  private readonly listeners: Listeners;
  private readonly links: Links;
  private readonly linkCosts = new Map<LinkConnection, number>();
  private issuer: TokenIssuer | undefined;
  private linkServer: LinkServer<GrantRecord> | undefined;
  private readonly startedAt = Date.now();
  private readonly streams = { active: 0, total: 0 };

  constructor(private readonly opts: RouterOptions) {
    const { site, store, settings, logger } = opts;
    this.routing = new RoutingTable(site.name);
    this.connectors = new Connectors(store, () => this.addressesChanged());
    this.listeners = new Listeners(store, logger, (address, socket) =>
      this.connectClient(address, socket),
    );
    this.links = new Links(site, store, settings, this.meter, logger, {
      up: (conn, cost) => {
        this.linkCosts.set(conn, cost);
        this.routing.setPeer(conn, cost, []);
        conn.mux.onStream = (stream, open) => this.serveStream(stream, open.address);
        conn.mux.sendControl({ type: 'addresses', addresses: this.connectors.addresses() });
      },
      down: (conn) => {
        this.linkCosts.delete(conn);
        this.routing.removePeer(conn);
      },
      control: (conn, msg) => {
        if (msg.type === 'addresses' && Array.isArray(msg.addresses)) {
          const addresses = msg.addresses.filter((a): a is string => typeof a === 'string');
          this.routing.setPeer(conn, this.linkCosts.get(conn) ?? 1, addresses);
        }
      },
    });
  }

  async start(): Promise<void> {
    const { site, store, settings, logger } = this.opts;
    await this.connectors.load();
    this.routing.setLocal(this.connectors.addresses());
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
    this.links.close();
    await this.listeners.close();
    await this.linkServer?.close();
  }

  // ---- streams ----

  /** A client connected to a listener: send it to the best connector for the address. */
  private connectClient(address: string, socket: Socket): void {
    const route = this.routing.choose(address);
    if (route === undefined) {
      this.opts.logger.warn({ address }, 'no connector reachable for address; closing client');
      closeCleanly(socket);
      return;
    }
    if (route.kind === 'local') {
      const target = this.connectors.get(address)!;
      const untrack = this.connectors.track(address);
      socket.once('close', untrack);
      dialTarget(target.host, target.port, this.opts.settings.connectTimeoutMs).then(
        (upstream) => splice(socket, upstream),
        (err) => {
          this.opts.logger.warn({ address, err: describe(err) }, 'target refused');
          closeCleanly(socket);
        },
      );
      return;
    }
    const pipe = this.newPipe(route.peer.name);
    pipe.stream = route.peer.mux.openStream({ address }, pipe);
    pipe.attach(socket);
  }

  /** A stream arrived over a link: dial the local target and join them. */
  private serveStream(stream: MuxStream, address: string): void {
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

  private newPipe(label: string, onDone?: () => void): StreamPipe {
    this.streams.active++;
    this.streams.total++;
    return new StreamPipe(this.opts.logger.child({ via: label }), () => {
      this.streams.active--;
      onDone?.();
    });
  }

  private addressesChanged(): void {
    const addresses = this.connectors.addresses();
    this.routing.setLocal(addresses);
    for (const conn of this.linkCosts.keys()) {
      conn.mux.sendControl({ type: 'addresses', addresses });
    }
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
      addresses: this.routing.addresses(),
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
    const { site } = this.opts;
    const addresses = this.routing.addresses();
    const servedBy = (name: string) =>
      addresses.filter((a) => a.sites.includes(name)).map((a) => a.address);
    const sites = [
      { id: site.id, name: site.name, reachable: true, addresses: servedBy(site.name) },
    ];
    const links = [];
    for (const [conn, cost] of this.linkCosts) {
      const peer = conn.peer!;
      if (!sites.some((s) => s.id === peer.siteId)) {
        sites.push({
          id: peer.siteId,
          name: peer.siteName,
          reachable: true,
          addresses: servedBy(peer.siteName),
        });
      }
      links.push({
        from: site.name,
        to: peer.siteName,
        cost,
        ...(conn.rttMs === undefined ? {} : { rttMs: conn.rttMs }),
      });
    }
    return { sites, links, addresses };
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
