import { readFile, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { type AdminServer, startAdminServer } from '../admin/server.js';
import { adminSocketPath, settingsPath } from '../config/paths.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import type { LogFormat } from '../log-format.js';
import { LogRing } from '../log-ring.js';
import { installCrashPolicy } from '../runtime/crash-policy.js';
import { startIdleCollector } from '../runtime/idle-collector.js';
import { signalsForwarded } from '../runtime/tuned-runtime.js';
import { FileStore } from '../state/file-store.js';
import { checkSiteId, linkUrl } from './create.js';
import { startHealthServer } from './health.js';
import { openSite } from './open.js';
import { CA_SECRET, type SiteRecord } from './records.js';
import { Router, requireSecret } from './router.js';

export interface RunSiteOptions {
  stateDir: string;
  logLevel: string;
  /** Default: pretty on a terminal, else json (log.ts). */
  logFormat?: LogFormat;
  /** Create the site with defaults when the state dir holds none (`site run --init`). */
  init?: boolean;
  /** `--health-port`: overrides the `healthPort` setting (0 there: no health endpoint). */
  healthPort?: number;
  /** `--health-host`: where the health endpoint binds (default 127.0.0.1). */
  healthHost?: string;
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
 * site with defaults on an empty state dir only with `init` (the container's entrypoint).
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
  const socketPath = adminSocketPath(opts.stateDir);
  await refuseIfRunning(socketPath, opts.stateDir);
  const store = new FileStore(opts.stateDir);
  // Only a site being created may make the directory: a mistyped --state-dir is refused
  // (openSite) and leaves nothing behind.
  if (opts.init === true) await store.init();
  const settings = await loadSettings(opts.stateDir);
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
    started = await startRouter(opts, store, settings, logger, recentLog, socketPath);
  } catch (err) {
    await health?.close();
    throw err;
  }
  const { site, router, admin } = started;
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
      linkUrl: site.linkAccess ? linkUrl(site) : undefined,
      stateDir: opts.stateDir,
    },
    'router ready',
  );
  if (process.stdout.isTTY) process.stdout.write(`${readyLine(site, socketPath)}\n`);
  await stopping;
  stopIdleCollector();
  health?.setState('draining');
  await router.drain(settings.drainTimeoutMs, hurry);
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
  admin: AdminServer;
}

/** Opens the site, starts its router (state loaded, link port bound) and the admin server. */
async function startRouter(
  opts: RunSiteOptions,
  store: FileStore,
  settings: Settings,
  logger: Logger,
  recentLog: LogRing,
  socketPath: string,
): Promise<Started> {
  const site = await openSite(store, {
    stateDir: opts.stateDir,
    init: opts.init === true,
    defaultName: defaultSiteName(),
    logger,
  });
  checkSiteId(site, opts.stateDir);
  const router = new Router({
    site,
    store,
    settings,
    logger: logger.child({ site: site.name }),
    caKeyPem: await requireSecret(store, CA_SECRET),
    recentLog: () => recentLog.entries(),
  });
  try {
    await router.start();
  } catch (err) {
    await router.stop().catch(() => undefined);
    throw err;
  }
  return {
    site,
    router,
    admin: await startAdminServer(router, socketPath, logger, router.adminCalls),
  };
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
async function refuseIfRunning(socketPath: string, stateDir: string): Promise<void> {
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
      `a router is already running for state dir ${stateDir}; stop it first`,
    );
  }
}

async function loadSettings(stateDir: string): Promise<Settings> {
  const path = settingsPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolveSettings();
    throw err;
  }
  const todo = 'fix it, or remove it to run with the defaults';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `${path}: is not valid JSON (${describe(err)}); ${todo}`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `${path}: holds ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}, not an object of settings; ${todo}`,
    );
  }
  try {
    return resolveSettings(value as Record<string, unknown>);
  } catch (err) {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `${path}: ${describe(err)}; ${todo}`, {
      cause: err,
    });
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
