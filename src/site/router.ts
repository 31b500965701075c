import type {
  AdminApi,
  ConnectorInfo,
  ConsoleInfo,
  ConsoleRequest,
  CreatedToken,
  EndpointRequest,
  EndpointUpdate,
  LinkInfo,
  ListenerInfo,
  NetworkStatus,
  SiteInfo,
  SiteStatus,
  TokenInfo,
} from '../admin/api.js';
import type { Settings } from '../config/settings.js';
import type { ConsoleServer } from '../console/server.js';
import type { ConsoleSource } from '../console/view.js';
import { ErrorCode, SkiffError } from '../errors.js';
import { totalCap } from '../link/admission.js';
import { LinkServer } from '../link/server.js';
import type { Logger } from '../log.js';
import { AddressBook } from '../metrics/address-stats.js';
import { CallCounts } from '../metrics/call-counts.js';
import type { MetricsSource } from '../metrics/source.js';
import { BufferMeter } from '../mux/meter.js';
import type { StateStore } from '../state/store.js';
import { TokenIssuer } from '../token/issuer.js';
import { KeyedMutex } from '../token/keyed-mutex.js';
import { createRedeemHandler } from '../token/redeem-handler.js';
import { VERSION } from '../version.js';
import { type Change, Connectors } from './connectors.js';
import { linkUrl, siteInfo } from './create.js';
import type { Exposer } from './exposer.js';
import { Links } from './links.js';
import { Listeners } from './listeners.js';
import { ServiceNetwork } from './network.js';
import {
  type ConnectorRecord,
  type GrantRecord,
  type ListenerRecord,
  SERVER_SECRET,
  type SiteRecord,
} from './records.js';
import { reissueServerCert, uncoveredHosts } from './server-cert.js';
import { Streams } from './streams.js';
import { hostPortTargets, type TargetResolver } from './targets.js';

export interface RouterOptions {
  site: SiteRecord;
  store: StateStore;
  settings: Settings;
  logger: Logger;
  /** The site CA key: signs this site's adverts (read once at start, see run.ts). */
  caKeyPem: string;
  /** The router's recent log lines, for debugDump (log-ring.ts). */
  recentLog?: () => unknown[];
  /** Where the site runs, as status reports it (default local). */
  platform?: SiteInfo['platform'];
  /** Where connectors' streams go (default: their host:port). */
  targets?: TargetResolver;
  /** Proxies for the network's addresses besides listeners (kubernetes: proxy Services). */
  exposer?: Exposer;
}

/** The records that others may change behind the router's back (kube/record-watch.ts). */
export interface EndpointRecords {
  connector: ConnectorRecord;
  listener: ListenerRecord;
}
export type EndpointKind = keyof EndpointRecords;

/**
 * A site's router: owns the links, listeners and connectors, and joins them: a client
 * connection at a listener becomes a stream to the chosen connector's site; a stream
 * arriving over a link is dialled to the local target. Implements the admin API.
 */
export class Router implements AdminApi {
  readonly meter = new BufferMeter();
  /** Admin API calls by method and status, counted by the admin server (admin/server.ts). */
  readonly adminCalls = new CallCounts();
  private readonly addresses: AddressBook;
  private readonly pruneTimer: NodeJS.Timeout;
  private readonly network: ServiceNetwork;
  private readonly streams: Streams;
  private readonly connectors: Connectors;
  private readonly listeners: Listeners;
  private readonly links: Links;
  private readonly targets: TargetResolver;
  private issuer: TokenIssuer | undefined;
  private linkServer: LinkServer<GrantRecord> | undefined;
  private readonly startedAt = Date.now();
  /** The web console, once StartConsole asked for it; a promise, so two calls start one. */
  private console: Promise<ConsoleServer> | undefined;
  /**
   * One change at a time per connector or listener address, whoever asks (the admin API,
   * or the store's watch on kubernetes): each runs against the state the last one left.
   */
  private readonly endpoints = new KeyedMutex();

  constructor(private readonly opts: RouterOptions) {
    const { site, store, settings, logger } = opts;
    // A warning: the router goes on without the record, and status shows it until fixed.
    store.problems.onReport = (p) =>
      logger.warn(
        { kind: p.kind, name: p.name, where: p.where, err: p.problem },
        'bad state record skipped',
      );
    this.network = new ServiceNetwork(
      { id: site.id, name: site.name, caPem: site.caPem, caKeyPem: opts.caKeyPem },
      settings,
      logger,
      (stream, open, from) => this.streams.serveStream(stream, open, from),
    );
    this.targets = opts.targets ?? hostPortTargets;
    this.connectors = new Connectors(store, () => this.connectorsChanged());
    this.addresses = new AddressBook((address) => this.knows(address));
    // Entries of addresses gone from the site and the network go (see AddressBook).
    this.pruneTimer = setInterval(() => this.addresses.prune(), PRUNE_MS).unref();
    this.streams = new Streams(
      site,
      settings,
      this.connectors,
      this.network,
      this.targets,
      logger,
      this.addresses,
    );
    this.listeners = new Listeners({
      store,
      logger,
      backoff: { initialMs: settings.backoffInitialMs, maxMs: settings.backoffMaxMs },
      onConnection: (address, socket) => this.streams.connectClient(address, socket),
      served: (address) => this.network.serves(address),
    });
    this.links = new Links(site, store, settings, this.meter, logger, {
      up: (conn, cost) => this.network.neighbourUp(conn, cost),
      down: (conn) => this.network.neighbourDown(conn),
      cost: (conn, cost) => this.network.neighbourCost(conn, cost),
      control: (conn, msg) => this.network.control(conn, msg),
    });
  }

  async start(): Promise<void> {
    const { site, store, settings, logger } = this.opts;
    // Every record is read at start, so a bad one is reported at once (tokens are read
    // again only at redemption).
    await store.list('token');
    await this.connectors.load();
    this.connectorsChanged();
    await this.links.restore();
    if (site.linkAccess) {
      const caKey = this.opts.caKeyPem;
      const serverKey = await requireSecret(store, SERVER_SECRET);
      this.issuer = new TokenIssuer({
        store,
        site: { id: site.id, name: site.name },
        ca: { certPem: site.caPem, keyPem: caKey },
        linkUrls: () => [linkUrl(site)],
        logger,
        onGrant: (grant: GrantRecord) => this.links.addGrant(grant),
        claimLinkName: (requested) => this.links.claimIncomingName(requested),
      });
      this.linkServer = new LinkServer<GrantRecord>({
        host: bindHost(site.linkHost),
        port: site.linkBindPort ?? site.linkPort,
        certPem: site.serverCertPem,
        keyPem: serverKey,
        caPem: site.caPem,
        handshakeTimeoutMs: settings.handshakeTimeoutMs,
        maxMessageSize: settings.maxMessageSize,
        admission: {
          perSource: settings.maxUnauthenticatedPerSource,
          total: totalCap(settings.maxUnauthenticated),
          redeemsPerMinute: settings.redeemsPerSourcePerMinute,
        },
        authorize: (serial) => this.links.authorize(serial),
        onLink: (socket, grant, remote) => this.links.accept(socket, grant, remote),
        onRedeem: createRedeemHandler(this.issuer, logger),
        logger,
      });
      await this.linkServer.listen();
    }
    await this.listeners.restore();
    await this.opts.exposer?.start({
      served: () => this.network.served(),
      onRoutes: (watcher) => this.network.onRoutes(watcher),
      connectClient: (address, socket) => this.streams.connectClient(address, socket),
    });
  }

  /** Tells the network (address and port) and the target resolver of the connectors now. */
  private connectorsChanged(): void {
    this.network.setLocal(this.connectors.addresses(), this.connectors.ports());
    this.targets.setConnectors?.(this.connectors.records());
  }

  /** Streams and client connections open now: what a drain waits for. */
  get openStreams(): number {
    return (
      this.streams.counts.active +
      this.listeners.activeClients +
      (this.opts.exposer?.activeClients ?? 0)
    );
  }

  /**
   * The graceful half of a shutdown: listeners and the link port stop accepting, every
   * link sends GOAWAY (peers route new streams elsewhere at once, and OPENs that still
   * arrive are refused), and open streams may finish. Resolves when none are left and no
   * link holds unsent bytes (a finished pipe may still have its last bytes queued), after
   * `timeoutMs`, or when `abort` resolves (a second signal); stop() then resets the rest.
   */
  async drain(timeoutMs: number, abort: Promise<void>): Promise<void> {
    const { logger } = this.opts;
    const t0 = Date.now();
    this.listeners.stopAccepting();
    this.opts.exposer?.stopAccepting();
    this.linkServer?.stopAccepting();
    this.links.goAway();
    logger.info({ streams: this.openStreams, timeoutMs }, 'router draining');
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      // Stream ends are spread over pipes, relays and splices; a light poll sees them all.
      new Promise<'drained'>((resolve) => {
        const check = () => {
          if (this.openStreams === 0 && !this.links.busy) resolve('drained');
          else poll = setTimeout(check, DRAIN_POLL_MS);
        };
        check();
      }),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
      abort.then(() => 'aborted' as const),
    ]);
    clearTimeout(timer);
    clearTimeout(poll);
    logger.info({ outcome, streamsLeft: this.openStreams, ms: Date.now() - t0 }, 'router drained');
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.console?.then((c) => c.close()).catch(() => undefined);
    this.network.stop();
    this.streams.stop();
    this.targets.stop?.();
    await this.links.close();
    await this.listeners.close();
    await this.opts.exposer?.close();
    await this.linkServer?.close();
  }

  /** Whether the site has a listener or connector for the address, or some advert lists it. */
  private knows(address: string): boolean {
    return (
      this.listeners.has(address) ||
      this.connectors.get(address) !== undefined ||
      this.network.knows(address)
    );
  }

  /** What /metrics shows (metrics/registry.ts): the counters above, read when scraped. */
  metricsSource(): MetricsSource {
    return {
      siteName: this.opts.site.name,
      links: () => this.links.withCounters(),
      addresses: this.addresses,
      connectorAddresses: () => this.connectors.addresses(),
      routing: () => this.network.counts(),
      buffered: () => ({ current: this.meter.current, peak: this.meter.peak }),
      streams: () => ({ ...this.streams.counts }),
      adminCalls: this.adminCalls,
    };
  }

  /** What the web console shows (console/view.ts). */
  consoleSource(): ConsoleSource {
    return {
      siteId: this.opts.site.id,
      metrics: this.metricsSource(),
      network: () => this.network.status(),
      listeners: () => this.listeners.list(),
      connectors: () => this.connectors.list(),
    };
  }

  // ---- admin API ----

  async status(): Promise<SiteStatus> {
    return {
      site: siteInfo(this.opts.site, this.opts.platform),
      version: VERSION,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      links: this.links.list(),
      listeners: this.listeners.list(),
      connectors: this.connectors.list(),
      addresses: this.network.addresses(),
      streams: { ...this.streams.counts },
      buffered: { current: this.meter.current, peak: this.meter.peak },
      problems: [...this.opts.store.problems.list(), ...(this.opts.exposer?.problems() ?? [])],
      ...(this.linkServer ? { linkPort: this.linkServer.stats() } : {}),
    };
  }

  /**
   * `urls`: what the token advertises, where not the site's link URL (kubernetes: the link
   * Service's address). A host there that the link server certificate does not name is
   * added to it first: the redeemer checks the host it dials.
   */
  async createToken(req: {
    expiryMs: number;
    uses: number;
    urls?: string[];
  }): Promise<CreatedToken> {
    if (!this.issuer || !this.linkServer) {
      throw new SkiffError(
        ErrorCode.NO_LINK_ACCESS,
        `site ${this.opts.site.name} was created with --no-link-access, so no site can link to it; create tokens on a site that accepts links`,
      );
    }
    if (req.urls !== undefined) await this.certifyHosts(req.urls, this.linkServer);
    return this.issuer.issue(req);
  }

  private certifyHosts(urls: readonly string[], server: LinkServer<GrantRecord>): Promise<void> {
    return this.endpoints.run('site/server-cert', async () => {
      const { site, store, logger } = this.opts;
      const hosts = uncoveredHosts(site.serverCertPem, urls);
      if (hosts.length === 0) return;
      const serverKeyPem = await requireSecret(store, SERVER_SECRET);
      const updated = await reissueServerCert({
        store,
        site,
        caKeyPem: this.opts.caKeyPem,
        serverKeyPem,
        hosts,
      });
      site.serverCertPem = updated.serverCertPem;
      server.setCertificate(updated.serverCertPem, serverKeyPem);
      logger.info({ hosts }, 'link server certificate reissued to name the advertised hosts');
    });
  }

  async listTokens(): Promise<TokenInfo[]> {
    return this.issuer ? this.issuer.list() : [];
  }

  async revokeToken(id: string): Promise<TokenInfo> {
    if (!this.issuer) {
      throw new SkiffError(
        ErrorCode.NOT_FOUND,
        `site ${this.opts.site.name} accepts no links, so it has no tokens`,
      );
    }
    return this.issuer.revoke(id);
  }

  createLink(req: { token: string; name?: string; cost: number }): Promise<LinkInfo> {
    return this.links.create(req);
  }

  updateLink(req: { name: string; cost: number }): Promise<LinkInfo> {
    return this.links.update(req);
  }

  deleteLink(name: string): Promise<void> {
    return this.links.delete(name);
  }

  async listLinks(): Promise<LinkInfo[]> {
    return this.links.list();
  }

  expose(req: EndpointRequest): Promise<ConnectorInfo> {
    return this.endpoints.run(`connector/${req.address}`, async () => {
      const info = await this.connectors.expose(req);
      this.opts.logger.info(req, 'address exposed');
      return info;
    });
  }

  updateConnector(req: EndpointUpdate): Promise<ConnectorInfo> {
    return this.endpoints.run(`connector/${req.address}`, async () => {
      const info = await this.connectors.update(req);
      this.opts.logger.info(req, 'connector updated');
      return info;
    });
  }

  async listConnectors(): Promise<ConnectorInfo[]> {
    return this.connectors.list();
  }

  unexpose(address: string): Promise<void> {
    return this.endpoints.run(`connector/${address}`, async () => {
      if (!(await this.connectors.unexpose(address))) {
        throw new SkiffError(
          ErrorCode.NOT_FOUND,
          `"${address}" is not exposed at this site; see skiff status`,
        );
      }
    });
  }

  createListener(req: EndpointRequest): Promise<ListenerInfo> {
    return this.endpoints.run(`listener/${req.address}`, () => this.listeners.create(req));
  }

  updateListener(req: EndpointUpdate): Promise<ListenerInfo> {
    return this.endpoints.run(`listener/${req.address}`, () => this.listeners.update(req));
  }

  deleteListener(address: string): Promise<void> {
    return this.endpoints.run(`listener/${address}`, () => this.listeners.delete(address));
  }

  /**
   * A connector or listener record as the store now holds it (undefined: deleted), saved by
   * someone else: made to take effect as the admin API's changes do, in turn with them,
   * and writing nothing back. Skipped when `stale()` says, once its turn has come, that the
   * router's own later write already replaced it. Returns what changed.
   */
  applyRecord<K extends EndpointKind>(
    kind: K,
    address: string,
    rec: EndpointRecords[K] | undefined,
    stale: () => boolean = () => false,
  ): Promise<Change | undefined> {
    return this.endpoints.run(`${kind}/${address}`, async () => {
      if (stale()) return undefined;
      // K narrows no value in TypeScript: the kind says which record type rec is.
      const change =
        kind === 'connector'
          ? this.connectors.apply(address, rec as EndpointRecords['connector'] | undefined)
          : await this.listeners.apply(address, rec as EndpointRecords['listener'] | undefined);
      if (change !== undefined) {
        this.opts.logger.info(
          { kind, address, change, ...(rec ? { host: rec.host, port: rec.port } : {}) },
          'record applied',
        );
      }
      return change;
    });
  }

  async listListeners(): Promise<ListenerInfo[]> {
    return this.listeners.list();
  }

  async networkStatus(): Promise<NetworkStatus> {
    return this.network.status();
  }

  async startConsole(req: ConsoleRequest): Promise<ConsoleInfo> {
    const host = req.host ?? DEFAULT_CONSOLE_HOST;
    const running = this.console;
    if (running === undefined) {
      // Loaded on use: a router whose console stays off never loads it.
      const starting = import('../console/server.js').then(({ startConsoleServer }) =>
        startConsoleServer({
          host,
          port: req.port,
          source: this.consoleSource(),
          logger: this.opts.logger,
        }),
      );
      this.console = starting;
      const server = await starting.catch((err: unknown) => {
        this.console = undefined;
        throw err;
      });
      return { url: server.url, host: server.host, port: server.port, started: true };
    }
    const server = await running;
    if (
      (req.host !== undefined && req.host !== server.host) ||
      (req.port !== 0 && req.port !== server.port)
    ) {
      throw new SkiffError(
        ErrorCode.ALREADY_EXISTS,
        `the console already serves on ${server.host} port ${server.port}; it stays there until the router restarts`,
      );
    }
    return { url: server.url, host: server.host, port: server.port, started: false };
  }

  async debugDump(): Promise<string> {
    const dump = {
      status: await this.status(),
      network: await this.networkStatus(),
      settings: this.opts.settings,
      node: process.version,
      memory: process.memoryUsage(),
      log: this.opts.recentLog?.() ?? [],
    };
    return `${JSON.stringify(dump, null, 2)}\n`;
  }
}

/** The console shows the site's network and traffic: only this machine sees it unless told otherwise. */
const DEFAULT_CONSOLE_HOST = '127.0.0.1';
/** How often a drain looks whether the last stream has ended. */
const DRAIN_POLL_MS = 50;
/** How often the address stats drop addresses nobody knows any more. */
const PRUNE_MS = 60_000;

export async function requireSecret(store: StateStore, name: string): Promise<string> {
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
