import { type V1ConfigMap, type V1ConfigMapList, Watch } from '@kubernetes/client-node';
import { describe, ErrorCode, isSkiffError } from '../errors.js';
import { Backoff } from '../link/backoff.js';
import type { Logger } from '../log.js';
import type { EndpointKind, EndpointRecords, Router } from '../site/router.js';
import {
  KIND_LABEL,
  type KubeStore,
  MANAGED_BY,
  recordNameOf,
  recordObjectName,
} from '../state/kube-store.js';
import type { KubeConnection } from './connect.js';
import { apiFailure, kubeError } from './errors.js';
import type { OwnWrites } from './own-writes.js';

/** The records others may write for the router to follow: connectors and listeners. */
const KINDS: readonly EndpointKind[] = ['connector', 'listener'];
const SELECTOR = `${MANAGED_BY}=skiff,${KIND_LABEL} in (${KINDS.join(',')})`;

/**
 * How long one watch request may last before the server ends it and it is opened again
 * from where it was: client-go picks 5 to 10 minutes, so a fleet of routers does not renew
 * in step and a silently broken connection is replaced.
 */
const WATCH_SECONDS_MIN = 300;
const WATCH_SECONDS_SPREAD = 300;
/** A watch the server ends sooner than this after it opened counts as a failure (backoff). */
const SHORT_WATCH_MS = 1_000;

/** What the router does with a record (site/router.ts); an interface so tests can stand in. */
export type RecordTarget = Pick<Router, 'applyRecord' | 'listConnectors' | 'listListeners'>;

export interface WatchHealth {
  /** watching: the watch is open; retrying: it failed and is retried with backoff. */
  state: 'watching' | 'retrying';
  /** Why it last failed, while retrying. */
  error?: string;
  /** ISO time of the last state change. */
  since: string;
}

export interface RecordWatchOptions {
  kube: KubeConnection;
  store: KubeStore;
  own: OwnWrites;
  target: RecordTarget;
  logger: Logger;
  /** Retry delays after a failed list or watch (default 200 ms growing to 10 s). */
  backoff?: { initialMs: number; maxMs: number };
}

/**
 * Follows the connector and listener ConfigMaps of the site's namespace (decision 0020), so
 * a record written by anyone (the CLI, `kubectl apply`, GitOps) takes effect without a
 * restart: list, then watch from the list's resourceVersion. Each change goes through the
 * router's applyRecord, the path the admin API's changes take, in the order the server
 * sent them. The router's own writes are recognised (OwnWrites) and not applied again.
 * A watch the server ends is opened again from the last resourceVersion seen (bookmarks
 * keep it fresh); 410 Gone lists again; any failure is retried with backoff and shown in
 * health(). A record that does not parse is reported in the store's problems and skipped:
 * what runs stays as it was until the record is fixed or deleted.
 */
export class RecordWatch {
  private resourceVersion = '';
  private stopped = false;
  private controller: AbortController | undefined;
  private openedAt = 0;
  private retry: NodeJS.Timeout | undefined;
  /** Changes are applied one at a time, in the order they arrived. */
  private applying: Promise<void> = Promise.resolve();
  private readonly backoff: Backoff;
  private current: WatchHealth = { state: 'watching', since: new Date().toISOString() };

  constructor(private readonly opts: RecordWatchOptions) {
    const { initialMs, maxMs } = opts.backoff ?? { initialMs: 200, maxMs: 10_000 };
    this.backoff = new Backoff(initialMs, maxMs);
  }

  /**
   * Lists and applies what the namespace holds, then opens the watch. Rejects with the
   * failure (FORBIDDEN naming the verb, PLATFORM_UNAVAILABLE) if either is refused: a
   * router that cannot follow its records should not start as if it did.
   */
  async start(): Promise<void> {
    await this.relist();
    const failure = await this.open();
    if (failure !== undefined) throw failure;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.controller?.abort();
    await this.applying;
  }

  health(): WatchHealth {
    return { ...this.current };
  }

  /** Resolves once every change received so far has been applied (for tests and status). */
  settled(): Promise<void> {
    return this.applying;
  }

  private async relist(): Promise<void> {
    const { kube } = this.opts;
    let list: V1ConfigMapList;
    try {
      list = await kube.core.listNamespacedConfigMap({
        namespace: kube.namespace,
        labelSelector: SELECTOR,
      });
    } catch (err) {
      throw apiFailure(err, 'list', 'configmaps', kube.namespace);
    }
    const listVersion = list.metadata?.resourceVersion ?? '';
    this.resourceVersion = listVersion;
    this.enqueue(() => this.reconcile(list.items, listVersion));
    await this.applying;
  }

  /** Makes the router's connectors and listeners what a fresh list shows. */
  private async reconcile(items: V1ConfigMap[], listVersion: string): Promise<void> {
    const { own, target } = this.opts;
    own.relisted(listVersion);
    const listed = new Set<string>();
    for (const cm of items) {
      const kind = kindOf(cm);
      if (kind === undefined) continue;
      listed.add(`${kind}/${cm.metadata?.name}`);
      await this.applyObject(kind, cm, false);
    }
    const running: [EndpointKind, string[]][] = [
      ['connector', (await target.listConnectors()).map((c) => c.address)],
      ['listener', (await target.listListeners()).map((l) => l.address)],
    ];
    for (const [kind, addresses] of running) {
      for (const address of addresses) {
        const object = recordObjectName(kind, address);
        if (listed.has(`${kind}/${object}`)) continue;
        // Gone from the namespace, unless the router wrote it after the list was taken.
        await target.applyRecord(kind, address, undefined, () =>
          own.isOwn(object, listVersion, true),
        );
      }
    }
  }

  /** Opens the watch; resolves with the failure if the server refused it. */
  private async open(): Promise<Error | undefined> {
    const { kube, logger } = this.opts;
    let refused: unknown;
    let opening = true;
    const seconds = WATCH_SECONDS_MIN + Math.floor(Math.random() * WATCH_SECONDS_SPREAD);
    const controller = await new Watch(kube.config).watch(
      `/api/v1/namespaces/${encodeURIComponent(kube.namespace)}/configmaps`,
      {
        labelSelector: SELECTOR,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: seconds,
      },
      (type: string, obj: unknown) => this.onEvent(type, obj),
      (err: unknown) => {
        if (opening) refused = err;
        else this.ended(err, controller);
      },
    );
    opening = false;
    if (refused !== undefined && refused !== null) {
      return apiFailure(refused, 'watch', 'configmaps', kube.namespace);
    }
    if (this.stopped) {
      controller.abort();
      return undefined;
    }
    this.controller = controller;
    this.openedAt = Date.now();
    if (this.current.state !== 'watching') {
      logger.info({ resourceVersion: this.resourceVersion }, 'watching records again');
      this.current = { state: 'watching', since: new Date().toISOString() };
    }
    logger.debug({ resourceVersion: this.resourceVersion }, 'watching records');
    return undefined;
  }

  private onEvent(type: string, obj: unknown): void {
    const object = obj as V1ConfigMap & { code?: number; message?: string };
    const version = object?.metadata?.resourceVersion;
    if (type === 'ERROR') {
      // 410 Gone: the server no longer has changes from our resourceVersion; it ends the
      // watch and the next one starts from a fresh list.
      if (object.code === 410) this.resourceVersion = '';
      else this.opts.logger.warn({ err: object.message, code: object.code }, 'watch error');
      return;
    }
    if (typeof version === 'string' && version !== '') this.resourceVersion = version;
    this.backoff.reset();
    if (type === 'BOOKMARK') return;
    if (type === 'ADDED' || type === 'MODIFIED') {
      const kind = kindOf(object);
      if (kind !== undefined) this.enqueue(() => this.applyObject(kind, object, false));
    } else if (type === 'DELETED') {
      // An object relabelled out of the selection is DELETED with its new labels: its name
      // still says what it was.
      const kind = kindOf(object) ?? kindOfName(object.metadata?.name ?? '');
      if (kind !== undefined) this.enqueue(() => this.applyObject(kind, object, true));
    }
  }

  /** One object as the server now has it (or its deletion), applied to the router. */
  private async applyObject(kind: EndpointKind, cm: V1ConfigMap, deleted: boolean): Promise<void> {
    const { store, own, target } = this.opts;
    const object = cm.metadata?.name ?? '';
    const version = cm.metadata?.resourceVersion ?? '';
    const address = recordNameOf(kind, object);
    if (deleted) {
      store.forget(object);
      if (address === undefined) return;
      await target.applyRecord(kind, address, undefined, () => own.isOwn(object, version, true));
      return;
    }
    // A misnamed object (address undefined) is refused by fromObject, so never applied.
    let rec: EndpointRecords[typeof kind] | undefined;
    try {
      rec = store.fromObject(kind, cm);
    } catch (err) {
      // Reported (and logged) by the store; the router goes on as it was.
      if (!isSkiffError(err, ErrorCode.STATE_CORRUPT)) throw err;
    }
    if (rec !== undefined) {
      await target.applyRecord(kind, address!, rec, () => own.isOwn(object, version, false));
    }
    await this.adopt(cm);
  }

  /**
   * A record applied by hand gets its owner, so the install's deletion removes it too. The
   * version it read was just applied, so the adopted one is an own write: not applied again.
   */
  private async adopt(cm: V1ConfigMap): Promise<void> {
    try {
      const version = await this.opts.store.adopt('configmaps', cm);
      if (version !== undefined) this.opts.own.wrote(cm.metadata?.name ?? '', version);
    } catch (err) {
      this.opts.logger.warn(
        { object: cm.metadata?.name, err: describe(err) },
        'cannot give a record its owner: deleting the install will leave it',
      );
    }
  }

  private enqueue(work: () => Promise<void>): void {
    this.applying = this.applying.then(work).catch((err: unknown) => {
      this.opts.logger.error({ err: describe(err) }, 'applying a record failed');
    });
  }

  /** The watch ended: the server's timeout (open again from where it was), or a failure. */
  private ended(err: unknown, controller: AbortController): void {
    if (this.stopped || this.controller !== controller) return;
    this.controller = undefined;
    if ((err === null || err === undefined) && Date.now() - this.openedAt >= SHORT_WATCH_MS) {
      void this.reopen();
      return;
    }
    if (err === null || err === undefined) {
      this.failed(new Error('the API server ended the watch as soon as it opened'));
      return;
    }
    if (kubeError(err)?.code === 410) this.resourceVersion = '';
    this.failed(apiFailure(err, 'watch', 'configmaps', this.opts.kube.namespace));
  }

  private async reopen(): Promise<void> {
    if (this.stopped) return;
    try {
      if (this.resourceVersion === '') await this.relist();
      const failure = await this.open();
      if (failure !== undefined) this.failed(failure);
    } catch (err) {
      this.failed(err);
    }
  }

  /** Retries after a backoff; the first failure of an outage is logged, and shown in health(). */
  private failed(err: unknown): void {
    if (this.stopped) return;
    const delayMs = this.backoff.delay();
    const error = describe(err);
    if (this.current.state !== 'retrying' || this.current.error !== error) {
      this.opts.logger.warn({ err: error, retryMs: delayMs }, 'watching records failed; retrying');
      this.current = { state: 'retrying', error, since: new Date().toISOString() };
    }
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.reopen();
    }, delayMs);
    this.retry.unref();
  }
}

function kindOf(cm: V1ConfigMap): EndpointKind | undefined {
  const kind = cm?.metadata?.labels?.[KIND_LABEL];
  return KINDS.find((k) => k === kind);
}

function kindOfName(object: string): EndpointKind | undefined {
  return KINDS.find((k) => recordNameOf(k, object) !== undefined);
}
