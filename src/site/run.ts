import { readFile, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { startAdminServer } from '../admin/server.js';
import { adminSocketPath, settingsPath } from '../config/paths.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { createLogger } from '../log.js';
import { installCrashPolicy } from '../runtime/crash-policy.js';
import { FileStore } from '../state/file-store.js';
import { checkSiteId, DEFAULT_LINK_PORT, initSite, linkUrl } from './create.js';
import { CA_SECRET, SITE_KEY, type SiteRecord } from './records.js';
import { Router, requireSecret } from './router.js';

export interface RunSiteOptions {
  stateDir: string;
  logLevel: string;
}

/**
 * `skiff site run`: the router in the foreground until SIGTERM or SIGINT. Creates the
 * site with defaults when the state dir is empty (the pod entrypoint needs no setup step).
 */
export async function runSite(opts: RunSiteOptions): Promise<void> {
  const logger = createLogger(opts.logLevel);
  installCrashPolicy(logger);
  const socketPath = adminSocketPath(opts.stateDir);
  await refuseIfRunning(socketPath, opts.stateDir);
  const store = new FileStore(opts.stateDir);
  await store.init();
  const settings = await loadSettings(opts.stateDir);
  let site = await store.get<SiteRecord>('site', SITE_KEY);
  if (!site) {
    const name = defaultSiteName();
    site = await initSite(store, { name, linkPort: DEFAULT_LINK_PORT, linkAccess: true });
    logger.info({ site: name, stateDir: opts.stateDir }, 'site created with defaults');
  }
  checkSiteId(site, opts.stateDir);
  const router = new Router({
    site,
    store,
    settings,
    logger: logger.child({ site: site.name }),
    caKeyPem: await requireSecret(store, CA_SECRET),
  });
  try {
    await router.start();
  } catch (err) {
    await router.stop().catch(() => undefined);
    throw err;
  }
  const admin = await startAdminServer(router, socketPath, logger);
  logger.info(
    {
      site: site.name,
      linkUrl: site.linkAccess ? linkUrl(site) : undefined,
      stateDir: opts.stateDir,
    },
    'router ready',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'router stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await router.stop();
  await admin.close();
  await unlink(socketPath).catch(() => undefined);
  logger.info({ site: site.name }, 'router stopped');
  logger.flush();
}

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
  try {
    return resolveSettings(JSON.parse(text) as Record<string, unknown>);
  } catch (err) {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `${path}: ${describe(err)}`, { cause: err });
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
