import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { describe } from '../errors.js';
import type { Logger } from '../log.js';
import { KIND_LABEL, MANAGED_BY } from '../state/kube-store.js';
import { apiFailure, notFound } from './errors.js';
import type { Owners } from './owners.js';
import {
  STATUS_CONFIGMAP,
  STATUS_KEY,
  type StatusInput,
  significant,
  statusDocument,
} from './status-doc.js';

/**
 * The pause between one look at the status (and its write, if any) and the next: writes
 * are at least this far apart, counted from the end of one to the start of the next, so
 * the server stores them at least this far apart however long each takes.
 */
const TICK_MS = 1_000;
/** Unchanged status is rewritten this often anyway, so its age shows the router is alive. */
const REFRESH_MS = 60_000;
/** The last write at stop may not hold up the shutdown longer than this. */
const FINAL_WRITE_MS = 2_000;

export interface StatusWriterOptions {
  core: CoreV1Api;
  namespace: string;
  /** The router's state now (the admin API's status and network status). */
  read: (state: StatusInput['state']) => Promise<StatusInput>;
  logger: Logger;
  /** Whose the status is (kube/owners.ts): it goes with the site. */
  owners: Owners;
  tickMs?: number;
}

/**
 * Keeps the `skiff-status` ConfigMap (status-doc.ts) current: looked at a second after the
 * last look ended, and rewritten when something other than times, RTTs and counters
 * changed, or once a minute regardless. One write at a time; a failed write is logged once per
 * distinct error and tried again at the next tick. Its label kind `status` keeps it out
 * of the record watch, so the router's own status never comes back to it.
 */
export class StatusWriter {
  private timer: NodeJS.Timeout | undefined;
  /** The latest write asked for; each runs after the one before it (write() never rejects). */
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastKey = '';
  private lastWriteAt = 0;
  private lastError = '';
  /** Writes made (for tests). */
  writes = 0;

  constructor(private readonly opts: StatusWriterOptions) {}

  start(): void {
    this.tick();
  }

  /**
   * Writes the status now, after any write under way, so that whoever reads it next sees
   * the router as it is at this call: an admin request is answered only after this, so the
   * `link status` that follows `link create` shows the new link.
   */
  flush(): Promise<void> {
    if (this.stopped) return this.writing;
    return this.queue(() => this.write('running', false));
  }

  /** Stops the ticks and writes the status one last time, as stopped. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.queue(() => this.write('stopped', true)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, FINAL_WRITE_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  private tick(): void {
    void this.queue(() => this.write('running', false)).then(() => {
      if (this.stopped) return;
      this.timer = setTimeout(() => this.tick(), this.opts.tickMs ?? TICK_MS);
      this.timer.unref();
    });
  }

  private queue(write: () => Promise<void>): Promise<void> {
    this.writing = this.writing.then(write);
    return this.writing;
  }

  private async write(state: StatusInput['state'], force: boolean): Promise<void> {
    const { core, namespace, logger } = this.opts;
    try {
      const doc = statusDocument(await this.opts.read(state));
      const key = significant(doc);
      const now = Date.now();
      if (!force && key === this.lastKey && now - this.lastWriteAt < REFRESH_MS) return;
      const ownerReferences = await this.opts.owners.referencesFor(STATUS_CONFIGMAP);
      const body: V1ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: STATUS_CONFIGMAP,
          labels: { [MANAGED_BY]: 'skiff', [KIND_LABEL]: 'status' },
          ...(ownerReferences && { ownerReferences }),
        },
        data: { [STATUS_KEY]: JSON.stringify(doc) },
      };
      await upsert(core, namespace, body);
      this.lastKey = key;
      this.lastWriteAt = now;
      this.writes++;
      if (this.lastError !== '') logger.info('status written again');
      this.lastError = '';
    } catch (err) {
      const error = describe(err);
      if (error !== this.lastError) logger.warn({ err: error }, 'cannot write the status');
      this.lastError = error;
    }
  }
}

/** Replaces the status, or creates it the first time (and replaces after all if raced). */
async function upsert(core: CoreV1Api, namespace: string, body: V1ConfigMap): Promise<void> {
  const name = STATUS_CONFIGMAP;
  const what = `configmaps "${name}"`;
  try {
    await core.replaceNamespacedConfigMap({ name, namespace, body });
    return;
  } catch (err) {
    if (!notFound(err)) throw apiFailure(err, 'update', what, namespace);
  }
  try {
    await core.createNamespacedConfigMap({ namespace, body });
  } catch (err) {
    throw apiFailure(err, 'create', what, namespace);
  }
}
