import { unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { type AdminServer, startAdminServer } from '../admin/server.js';
import type { Settings } from '../config/settings.js';
import { ErrorCode, SkiffError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import type { LogFormat } from '../log-format.js';
import { LogRing } from '../log-ring.js';
import { installCrashPolicy } from '../runtime/crash-policy.js';
import { startIdleCollector } from '../runtime/idle-collector.js';
import { signalsForwarded } from '../runtime/tuned-runtime.js';
import { checkSiteId, linkUrl } from './create.js';
import { startHealthServer } from './health.js';
import { localPlatform } from './local-platform.js';
import { openSite } from './open.js';
import type { Platform, SiteDefaults } from './platform.js';
import { CA_SECRET, type SiteRecord } from './records.js';
import { Router, requireSecret } from './router.js';

export interface RunSiteOptions {
  /**
   * local: the state dir (required). kubernetes: where the admin socket goes (an emptyDir
   * in a pod); without it a run dir of its own (kube/platform.ts).
   */
  stateDir?: string;
  logLevel: string;
  /** Default: pretty on a terminal, else json (log.ts). */
  logFormat?: LogFormat;
  /** Create the site with defaults when the state dir holds none (`site run --init`). */
  init?: boolean;
  /** `--health-port`: overrides the `healthPort` setting (0 there: no health endpoint). */
  healthPort?: number;
  /** `--health-host`: where the health endpoint binds (default 127.0.0.1). */
  healthHost?: string;
  /** Default local. */
  platform?: Platform['name'];
  /** kubernetes: `-n`, else $SKIFF_NAMESPACE, else the kubeconfig context's. */
  namespace?: string;
  /** kubernetes: `--context`. */
  context?: string;
  /** Where a site created at this start takes links (`--link-host`, `--link-port`, `--link-bind-port`). */
  link?: Omit<SiteDefaults, 'name'>;
  /** `--metrics-port`: overrides the `metricsPort` setting (0 there: no metrics endpoint). */
  metricsPort?: number;
  /** `--metrics-host`: where the metrics endpoint binds (default 127.0.0.1). */
  metricsHost?: string;
}

/** Locally only this machine probes; a pod's manifest says 0.0.0.0, as its kubelet probes the pod IP. */
const DEFAULT_HEALTH_HOST = '127.0.0.1';
/** Metrics name the site's links and addresses: only this machine sees them unless told otherwise. */
const DEFAULT_METRICS_HOST = '127.0.0.1';

/**
 * `skiff site run`: the router in the foreground until SIGTERM or SIGINT. Creates the
 * site with defaults on an empty state dir only with `init` (the container's entrypoint),
 * or on the kubernetes platform in a namespace that holds none.
 */
export async function runSite(opts: RunSiteOptions): Promise<void> {
  const recentLog = new LogRing();
  const logger = createLogger(opts.logLevel, {
    ...(opts.logFormat === undefined ? {} : { format: opts.logFormat }),
    recent: recentLog,
  });
  installCrashPolicy(logger);
  // The first SIGTERM or SIGINT drains (settings.drainTimeoutMs), a second one ends the
  // drain at once; what is still open then is reset by stop(). Behind a launcher that
  // forwards signals, one arriving within SAME_SIGNAL_MS of the first is that same signal
  // delivered twice (to the process group or cgroup, and forwarded).
  const sameWithinMs = signalsForwarded() ? SAME_SIGNAL_MS : 0;
  let firstAt = 0;
  let signals = 0;
  let first!: () => void;
  let second!: () => void;
  const stopping = new Promise<void>((resolve) => {
    first = resolve;
  });
  const hurry = new Promise<void>((resolve) => {
    second = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (signals > 0 && Date.now() - firstAt < sameWithinMs) return;
    if (signals === 0) firstAt = Date.now();
    signals++;
    logger.info({ signal }, signals === 1 ? 'router stopping' : 'router stopping now');
    if (signals === 1) first();
    else second();
  };
  // Before anything else: a signal that arrives while the router starts must drain it,
  // not kill it with Node's default action.
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const platform = await choosePlatform(opts);
  const socketPath = platform.adminSocket;
  await refuseIfRunning(socketPath, platform.where);
  await platform.prepare();
  const settings = await platform.loadSettings();
  const healthPort = opts.healthPort ?? settings.healthPort;
  const metricsPort = opts.metricsPort ?? settings.metricsPort;
  if (metricsPort !== 0 && metricsPort === healthPort) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `the metrics port ${metricsPort} is also the health port; give --metrics-port (or the metricsPort setting) another port`,
    );
  }
  // First, so a kubelet sees the process live (and not ready) while the state loads.
  const health =
    healthPort === 0
      ? undefined
      : await startHealthServer({
          host: opts.healthHost ?? DEFAULT_HEALTH_HOST,
          port: healthPort,
          logger,
        });
  let started: Started;
  try {
    started = await startRouter(platform, settings, logger, recentLog);
  } catch (err) {
    await health?.close();
    throw err;
  }
  const { site, router, follower, admin } = started;
  let metrics: Metrics | undefined;
  if (metricsPort !== 0) {
    try {
      metrics = await serveMetrics(
        router,
        opts.metricsHost ?? DEFAULT_METRICS_HOST,
        metricsPort,
        logger,
      );
    } catch (err) {
      await router.stop().catch(() => undefined);
      await follower.stop();
      await admin.close();
      await health?.close();
      throw err;
    }
  }
  health?.setState('ready');
  const stopIdleCollector = startIdleCollector(logger, () => router.openStreams);
  logger.info(
    {
      site: site.name,
      platform: platform.name,
      where: platform.where,
      linkUrl: site.linkAccess ? linkUrl(site) : undefined,
      adminSocket: socketPath,
    },
    'router ready',
  );
  if (process.stdout.isTTY) process.stdout.write(`${readyLine(site, socketPath)}\n`);
  await stopping;
  stopIdleCollector();
  health?.setState('draining');
  await router.drain(settings.drainTimeoutMs, hurry);
  await follower.stop();
  await router.stop();
  await admin.close();
  await metrics?.close();
  await health?.close();
  await unlink(socketPath).catch(() => undefined);
  logger.info({ site: site.name }, 'router stopped');
  logger.flush();
}

interface Metrics {
  close(): Promise<void>;
}

/** The metrics endpoint, once the router runs: a scrape then always sees its state. */
async function serveMetrics(
  router: Router,
  host: string,
  port: number,
  logger: Logger,
): Promise<Metrics> {
  // Loaded on use: prom-client is more than a router without metrics needs.
  const { createRouterMetrics } = await import('../metrics/registry.js');
  const { startMetricsServer } = await import('../metrics/server.js');
  const metrics = createRouterMetrics(router.metricsSource());
  const server = await startMetricsServer({ host, port, metrics, logger }).catch((err: unknown) => {
    metrics.close();
    throw err;
  });
  return {
    close: async () => {
      await server.close();
      metrics.close();
    },
  };
}

interface Started {
  site: SiteRecord;
  router: Router;
  follower: Awaited<ReturnType<Platform['follow']>>;
  admin: AdminServer;
}

/** Opens the site, starts its router (state loaded, link port bound), its follower and the admin server. */
async function startRouter(
  platform: Platform,
  settings: Settings,
  logger: Logger,
  recentLog: LogRing,
): Promise<Started> {
  const { store } = platform;
  const site = await openSite(store, {
    where: platform.where,
    create: platform.create,
    noSiteHint: platform.noSiteHint,
    logger,
  });
  checkSiteId(site, platform.where);
  const router = new Router({
    site,
    store,
    settings,
    logger: logger.child({ site: site.name }),
    caKeyPem: await requireSecret(store, CA_SECRET),
    recentLog: () => recentLog.entries(),
    platform: platform.name,
    ...(platform.targets ? { targets: platform.targets(logger.child({ site: site.name })) } : {}),
    ...(platform.exposer
      ? { exposer: platform.exposer(settings, logger.child({ site: site.name })) }
      : {}),
  });
  let follower: Awaited<ReturnType<Platform['follow']>>;
  try {
    await router.start();
    // Before the admin socket serves: the first list it makes sees only others' changes.
    follower = await platform.follow(router, logger.child({ site: site.name }));
  } catch (err) {
    await router.stop().catch(() => undefined);
    throw err;
  }
  return {
    site,
    router,
    follower,
    admin: await startAdminServer(router, platform.adminSocket, logger, router.adminCalls),
  };
}

/**
 * The one place the platforms part: each builds its store, settings source, admin socket
 * and follower. The kubernetes one (and @kubernetes/client-node) is loaded only when used.
 */
async function choosePlatform(opts: RunSiteOptions): Promise<Platform> {
  if (opts.platform === 'kubernetes') {
    const { kubernetesPlatform } = await import('../kube/platform.js');
    return kubernetesPlatform({
      ...(opts.stateDir === undefined ? {} : { runDir: opts.stateDir }),
      ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
      ...(opts.context === undefined ? {} : { context: opts.context }),
      link: opts.link ?? {},
    });
  }
  if (opts.stateDir === undefined) throw new Error('the local platform needs a state dir');
  return localPlatform({
    stateDir: opts.stateDir,
    ...(opts.init === true ? { create: { name: defaultSiteName(), ...opts.link } } : {}),
  });
}

/** What a person at a terminal sees once the router serves (the log says more, on stderr). */
export function readyLine(site: SiteRecord, socketPath: string): string {
  const links = site.linkAccess
    ? `link port ${site.linkBindPort ?? site.linkPort}`
    : 'accepts no links';
  return `site ${site.name}: ${links}, admin socket ${socketPath}; Ctrl-C to stop`;
}

/** A second delivery of one signal comes within milliseconds; a person's second Ctrl-C does not. */
const SAME_SIGNAL_MS = 250;

/** Two routers on one state dir would fight over its files and ports. */
async function refuseIfRunning(socketPath: string, where: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) {
    throw new SkiffError(
      ErrorCode.ROUTER_RUNNING,
      `a router is already running for ${where} (its admin socket ${socketPath} answers); stop it first`,
    );
  }
}

function defaultSiteName(): string {
  const name = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return name || 'site';
}
