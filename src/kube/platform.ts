import { lstat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminSocketPath } from '../config/paths.js';
import { nameProblem } from '../config/rules.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { settingsFromText } from '../config/settings-text.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Platform, SiteDefaults } from '../site/platform.js';
import type { Router } from '../site/router.js';
import { KubeStore } from '../state/kube-store.js';
import { connectKube, type KubeConnection } from './connect.js';
import { apiFailure, notFound } from './errors.js';
import { OwnWrites } from './own-writes.js';
import { ProxyServices } from './proxy-services.js';
import { RecordWatch } from './record-watch.js';
import { RequestFollower } from './request-follower.js';
import type { StatusInput } from './status-doc.js';
import { StatusWriter } from './status-writer.js';
import { KubeTargets } from './targets.js';

/** The optional settings overrides: a ConfigMap holding what the local `settings.json` holds. */
export const SETTINGS_CONFIGMAP = 'skiff-settings';
export const SETTINGS_KEY = 'settings.json';
/** The link Service deploy/kubernetes makes: a new site's default link host is its DNS name. */
const LINK_SERVICE = 'skiff';

export interface KubePlatformOptions {
  /** `-n`; else $SKIFF_NAMESPACE (the pod's, from the downward API); else the kubeconfig's. */
  namespace?: string;
  context?: string;
  /** Where the admin socket goes (`--state-dir`: an emptyDir in a pod); default runDirFor(). */
  runDir?: string;
  /** Where a site created at this start takes links. */
  link: Omit<SiteDefaults, 'name'>;
}

/**
 * The kubernetes platform (decision 0020): the site is the namespace. State in ConfigMaps
 * and Secrets (KubeStore), created at the first start in a namespace that holds none
 * (named $SKIFF_SITE_NAME, else after the namespace); settings from the `skiff-settings`
 * ConfigMap; connector and listener records followed as anyone changes them (RecordWatch),
 * the CLI's admin requests run (RequestFollower), and status written to `skiff-status`
 * (StatusWriter); connectors reach workloads' ready pods (KubeTargets), and every address
 * in the network gets a proxy Service (ProxyServices). The pod keeps only its admin socket.
 */
export function kubernetesPlatform(opts: KubePlatformOptions): Platform {
  const kube = connectKube({
    ...optional('namespace', opts.namespace ?? nonEmpty(process.env.SKIFF_NAMESPACE)),
    ...optional('context', opts.context),
  });
  const own = new OwnWrites();
  const store = new KubeStore(kube.core, kube.namespace, { ownWrites: own });
  const runDir = opts.runDir ?? runDirFor(kube.namespace);
  const name = nonEmpty(process.env.SKIFF_SITE_NAME) ?? kube.namespace;
  const problem = nameProblem(name, 'site name');
  if (problem !== undefined) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `${problem} (the site is named after $SKIFF_SITE_NAME, else the namespace)`,
    );
  }
  return {
    name: 'kubernetes',
    store,
    where: `namespace ${kube.namespace}`,
    adminSocket: adminSocketPath(runDir),
    create: {
      ...opts.link,
      name,
      linkHost: opts.link.linkHost ?? `${LINK_SERVICE}.${kube.namespace}.svc`,
    },
    noSiteHint: 'the router creates it at its first start',
    prepare: () => prepareRunDir(runDir),
    loadSettings: () => loadSettings(kube),
    follow: (router, logger) => follow(kube, store, own, router, logger),
    targets: (logger) => new KubeTargets(kube, logger),
    exposer: (settings, logger) =>
      new ProxyServices({
        kube,
        logger,
        graceMs: settings.proxyServiceGraceMs,
        owners: store.owners,
      }),
  };
}

/**
 * The admin socket's directory when none is given: per namespace under $XDG_RUNTIME_DIR,
 * else the temp dir. It holds nothing that must survive the process.
 */
export function runDirFor(namespace: string): string {
  const base = nonEmpty(process.env.XDG_RUNTIME_DIR) ?? tmpdir();
  return join(base, `skiff-${process.getuid?.() ?? 'user'}-${namespace}`);
}

/** Made if missing, and refused unless it is this user's own directory that nobody else may enter. */
async function prepareRunDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `${dir} must be a directory of this user's that only it may use (mode 0700), for the admin socket; fix it or pass another --state-dir`,
    );
  }
}

async function loadSettings(kube: KubeConnection): Promise<Settings> {
  const { core, namespace } = kube;
  const where = `configmaps "${SETTINGS_CONFIGMAP}" in namespace ${namespace}`;
  const todo = 'fix it with kubectl edit, or delete it to run with the defaults';
  let text: string | undefined;
  try {
    const cm = await core.readNamespacedConfigMap({ name: SETTINGS_CONFIGMAP, namespace });
    text = cm.data?.[SETTINGS_KEY];
    if (text === undefined) {
      throw new SkiffError(
        ErrorCode.STATE_CORRUPT,
        `${where}: has no "${SETTINGS_KEY}" key; ${todo}`,
      );
    }
  } catch (err) {
    if (err instanceof SkiffError) throw err;
    if (notFound(err)) return resolveSettings();
    throw apiFailure(err, 'get', `configmaps "${SETTINGS_CONFIGMAP}"`, namespace);
  }
  return settingsFromText(text, where, todo);
}

async function follow(
  kube: KubeConnection,
  store: KubeStore,
  own: OwnWrites,
  router: Router,
  logger: Logger,
): Promise<{ stop(): Promise<void> }> {
  await adoptAll(store, logger);
  const watch = new RecordWatch({ kube, store, own, target: router, logger });
  await watch.start();
  const status = new StatusWriter({
    core: kube.core,
    namespace: kube.namespace,
    logger,
    owners: store.owners,
    read: async (state): Promise<StatusInput> => ({
      status: requests.withFailures(await router.status()),
      network: await router.networkStatus(),
      watch: watch.health(),
      state,
      now: new Date(),
    }),
  });
  const requests: RequestFollower = new RequestFollower({
    kube,
    target: router,
    logger,
    beforeAnswer: () => status.flush(),
  });
  try {
    await requests.start();
  } catch (err) {
    await watch.stop();
    throw err;
  }
  status.start();
  return {
    stop: async () => {
      requests.stop();
      await watch.stop();
      await status.stop();
    },
  };
}

/**
 * Objects written before their owner existed, or by an older skiff, get it now; a failure
 * only means the install's deletion would leave them, so the router starts anyway.
 */
async function adoptAll(store: KubeStore, logger: Logger): Promise<void> {
  try {
    const adopted = await store.adoptAll();
    if (adopted > 0) logger.info({ adopted }, 'gave skiff objects their owner');
  } catch (err) {
    logger.warn(
      { err: describe(err) },
      'cannot give skiff objects their owner: deleting the install will leave them',
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
