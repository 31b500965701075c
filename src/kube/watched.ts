import {
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { Backoff } from '../link/backoff.js';
import type { Logger } from '../log.js';
import type { KubeConnection } from './connect.js';
import { apiFailure } from './errors.js';

export interface WatchSpec<T extends KubernetesObject> {
  /** What is watched, for logs and messages: `pods with app=api`, `deployments.apps "api"`. */
  what: string;
  /** The resource as RBAC names it, with its group: `pods`, `deployments.apps`. */
  resource: string;
  /** The collection's API path in the namespace. */
  path: string;
  list(): Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  /** More objects than this, and the cache is dropped and the watch refused (LIMIT). */
  maxItems: number;
}

/** Retries after a failed list or watch: quick at first, never idle for long. */
const RETRY_INITIAL_MS = 200;
const RETRY_MAX_MS = 10_000;
/** After too many objects: the next look is a full list, so not soon. */
const LIMIT_RETRY_MS = 60_000;

/**
 * A cache of the objects one selector picks in the namespace, kept current with a list and
 * a watch (client-node's ListWatch: it re-lists by itself when the watch expires, 410). A
 * failed list or watch is retried with backoff while the cache keeps what it had (pods do
 * not vanish because the API server is briefly unreachable); `failure` says why it is
 * stale. More than `maxItems` objects drop the cache: a source never grows without bound.
 */
export class Watched<T extends KubernetesObject> {
  private informer: ListWatch<T> | undefined;
  private readonly backoff = new Backoff(RETRY_INITIAL_MS, RETRY_MAX_MS);
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Set by the error handler; read after each start to know whether that run listed. */
  private failedRun = false;
  private hasSynced = false;
  /** The informer whose list has been read: its cache is the one to go by. */
  private listed: ListWatch<T> | undefined;
  private readonly syncWaiters: Array<() => void> = [];
  /** Why the cache is stale or empty: the last failed list or watch, until one works. */
  failure: SkiffError | undefined;
  constructor(
    private readonly kube: KubeConnection,
    private readonly spec: WatchSpec<T>,
    private readonly logger: Logger,
    /** Runs after every change to the cache (and after it is dropped). */
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** Lists, then watches; returns at once (await whenSynced() for the first list). */
  start(): void {
    this.open();
  }

  whenSynced(): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /**
   * The cached objects, stale or not; throws why there are none to go by (not listed yet,
   * or dropped for being too many).
   */
  items(): readonly T[] {
    if (this.informer === undefined || this.informer !== this.listed) {
      throw (
        this.failure ??
        new SkiffError(ErrorCode.PLATFORM_UNAVAILABLE, `${this.spec.what} have not been read yet`)
      );
    }
    return this.informer.list(this.kube.namespace);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    const informer = this.informer;
    this.informer = undefined;
    void informer?.stop();
  }

  private open(): void {
    const { spec } = this;
    const informer = new ListWatch<T>(
      spec.path,
      new Watch(this.kube.config),
      async () => {
        const list = await spec.list();
        if (list.items.length > spec.maxItems) throw this.tooMany();
        return list;
      },
      false,
      spec.labelSelector,
      spec.fieldSelector,
    );
    // The list's own adds are not changes yet: run() reports the listed cache once.
    const changed = () => {
      if (this.listed === informer) this.changed();
    };
    informer.on('add', () => {
      if (this.listed === informer && informer.list(this.kube.namespace).length > spec.maxItems) {
        this.drop(this.tooMany());
        return;
      }
      changed();
    });
    informer.on('update', changed);
    informer.on('delete', changed);
    // An informer dropped or stopped ends its watch with an abort: not a failure to report.
    informer.on('error', (err) => {
      if (informer === this.informer) this.failed(err);
    });
    this.informer = informer;
    void this.run(informer);
  }

  /** One start of the informer: it resolves after the list and the watch request, or a failure. */
  private async run(informer: ListWatch<T>): Promise<void> {
    this.failedRun = false;
    try {
      await informer.start();
    } catch (err) {
      // What ListWatch does not catch itself (a kubeconfig whose credentials cannot be read).
      if (informer === this.informer) this.failed(err);
      return;
    }
    if (this.stopped || this.failedRun || informer !== this.informer) return;
    if (this.failure !== undefined) {
      this.logger.info({ watch: this.spec.what }, 'watching again');
      this.failure = undefined;
    }
    this.backoff.reset();
    if (this.listed !== informer) {
      this.listed = informer;
      this.hasSynced = true;
      for (const wake of this.syncWaiters.splice(0)) wake();
      this.changed();
    }
  }

  private failed(err: unknown): void {
    this.failedRun = true;
    if (err instanceof SkiffError && err.code === ErrorCode.LIMIT) {
      this.drop(err);
      return;
    }
    this.failure = apiFailure(err, 'watch', this.spec.resource, this.kube.namespace);
    const retryMs = this.backoff.delay();
    this.logger.warn(
      { watch: this.spec.what, err: describe(this.failure), retryMs },
      'watching failed; retrying',
    );
    this.later(retryMs, () => {
      const informer = this.informer;
      if (informer) void this.run(informer);
    });
  }

  /** Forgets every object (the cache is over its bound) and tries afresh, later. */
  private drop(failure: SkiffError): void {
    this.failure = failure;
    this.logger.warn({ watch: this.spec.what, err: failure.message }, 'watch dropped');
    const dropped = this.informer;
    this.informer = undefined;
    void dropped?.stop();
    this.changed();
    this.later(LIMIT_RETRY_MS, () => this.open());
  }

  /** A handler's throw is logged here: it must not end the process from the informer's emit. */
  private changed(): void {
    try {
      this.onChange();
    } catch (err) {
      this.logger.error({ watch: this.spec.what, err: describe(err) }, 'handling a change failed');
    }
  }

  private later(ms: number, then: () => void): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (!this.stopped) then();
    }, ms);
    this.retry.unref();
  }

  private tooMany(): SkiffError {
    const { what, maxItems } = this.spec;
    return new SkiffError(
      ErrorCode.LIMIT,
      `${what} are more than ${maxItems}: skiff follows at most ${maxItems}`,
    );
  }
}
