import type { V1Secret } from '@kubernetes/client-node';
import type { AdminApi, SiteStatus, StateProblemInfo } from '../admin/api.js';
import {
  createLinkRequest,
  createTokenRequest,
  linkNameRequest,
  tokenIdRequest,
  updateLinkRequest,
} from '../admin/requests.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  type AdminRequest,
  ANSWERED_AT,
  ANSWERED_SELECTOR,
  type Answer,
  answeredSecret,
  PENDING_SELECTOR,
  readRequest,
} from './admin-request.js';
import type { KubeConnection } from './connect.js';
import { apiFailure, notFound } from './errors.js';
import { Watched } from './watched.js';

/** What the router does for a request: its own admin methods (site/router.ts). */
export type RequestTarget = Pick<
  AdminApi,
  'revokeToken' | 'createLink' | 'updateLink' | 'deleteLink'
> & {
  createToken(req: {
    expiryMs: number;
    uses: number;
    urls?: string[];
  }): ReturnType<AdminApi['createToken']>;
};

/** Requests pending at once, at most: more is not a person at a CLI. */
const MAX_PENDING = 64;
/** An answer nobody collected (the CLI was stopped) is deleted after this long... */
const ANSWER_KEPT_MS = 10 * 60_000;
/** ...by a sweep this often, and once at start. */
const SWEEP_MS = 5 * 60_000;
const MAX_URLS = 16;
/** Failed requests shown in status: the latest few, for as long as an answer is kept. */
const MAX_FAILURES = 8;
const MAX_URL = 1024;

export interface RequestFollowerOptions {
  kube: KubeConnection;
  target: RequestTarget;
  logger: Logger;
  /**
   * Awaited after a request ran and before its answer is written: the CLI reads the status
   * next (`link status` after `link create`), so it must show what the request did.
   */
  beforeAnswer: () => Promise<void>;
}

/**
 * Runs the admin requests the CLI writes as Secrets in the namespace (admin-request.ts,
 * decision 0024): each pending one once, through the router's own admin methods, then the
 * Secret is replaced by the answer (which takes it out of the selection). Requests run side
 * by side: a link's redemption may take seconds, a token is quick.
 */
export class RequestFollower {
  private readonly watched: Watched<V1Secret>;
  /** Requests taken up, by uid: each runs once. Forgotten when it leaves the selection. */
  private readonly taken = new Set<string>();
  private sweeper: NodeJS.Timeout | undefined;
  /** The latest failed requests, newest last, for status (the CLI that asked was told). */
  private readonly failures: Array<StateProblemInfo & { at: number }> = [];

  constructor(private readonly opts: RequestFollowerOptions) {
    const { kube, logger } = opts;
    const { namespace } = kube;
    this.watched = new Watched<V1Secret>(
      kube,
      {
        what: 'request secrets',
        resource: 'secrets',
        path: `/api/v1/namespaces/${namespace}/secrets`,
        list: () => kube.core.listNamespacedSecret({ namespace, labelSelector: PENDING_SELECTOR }),
        labelSelector: PENDING_SELECTOR,
        maxItems: MAX_PENDING,
      },
      logger,
      () => this.pick(),
    );
  }

  /**
   * Refuses (FORBIDDEN naming the verb) when the router may not list the Secrets: a router
   * that never sees `link create` must not look healthy. Then follows them.
   */
  async start(): Promise<void> {
    const { kube } = this.opts;
    try {
      await kube.core.listNamespacedSecret({
        namespace: kube.namespace,
        labelSelector: PENDING_SELECTOR,
        limit: 1,
      });
    } catch (err) {
      throw apiFailure(err, 'list', 'secrets', kube.namespace);
    }
    this.watched.start();
    void this.sweep();
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** `status` with the requests that failed in the last ANSWER_KEPT_MS among its problems. */
  withFailures(status: SiteStatus): SiteStatus {
    const since = Date.now() - ANSWER_KEPT_MS;
    const recent = this.failures.filter((f) => f.at > since).map(({ at: _, ...f }) => f);
    return recent.length === 0 ? status : { ...status, problems: [...status.problems, ...recent] };
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.watched.stop();
  }

  private pick(): void {
    let items: readonly V1Secret[];
    try {
      items = this.watched.items();
    } catch {
      return;
    }
    const present = new Set<string>();
    for (const secret of items) {
      const uid = secret.metadata?.uid ?? secret.metadata?.name ?? '';
      present.add(uid);
      if (this.taken.has(uid)) continue;
      this.taken.add(uid);
      void this.handle(secret);
    }
    for (const uid of this.taken) if (!present.has(uid)) this.taken.delete(uid);
  }

  private async handle(secret: V1Secret): Promise<void> {
    const { kube, logger } = this.opts;
    const name = secret.metadata?.name ?? '';
    let op = 'unknown';
    let answer: Answer;
    const t0 = performance.now();
    const took = () => Math.round(performance.now() - t0);
    try {
      const req = readRequest(secret);
      op = req.op;
      answer = { ok: true, value: (await this.run(req)) ?? null };
      logger.info({ request: name, op, ms: took() }, 'request answered');
    } catch (err) {
      const code = err instanceof SkiffError ? err.code : ErrorCode.INTERNAL;
      answer = { ok: false, error: { code, message: describe(err) } };
      logger.warn({ request: name, op, ms: took(), err: describe(err) }, 'request failed');
      this.failures.push({
        kind: 'request',
        name,
        where: `secrets "${name}" in namespace ${kube.namespace}`,
        problem: `${op} failed at ${new Date().toISOString()}: ${describe(err)}`,
        at: Date.now(),
      });
      if (this.failures.length > MAX_FAILURES) this.failures.shift();
    }
    await this.opts.beforeAnswer();
    try {
      await kube.core.replaceNamespacedSecret({
        name,
        namespace: kube.namespace,
        body: answeredSecret(secret, answer, new Date()),
      });
    } catch (err) {
      // Deleted meanwhile: the CLI that asked gave up.
      if (!notFound(err)) {
        logger.warn(
          {
            request: name,
            err: describe(apiFailure(err, 'update', `secrets "${name}"`, kube.namespace)),
          },
          'answering a request failed',
        );
      }
    }
  }

  /** The request's checks are the admin socket's (admin/requests.ts). */
  private run(req: AdminRequest): Promise<unknown> {
    const { target } = this.opts;
    switch (req.op) {
      case 'CreateToken': {
        const urls = linkUrls(req.args.urls);
        return target.createToken({
          ...createTokenRequest(req.args),
          ...(urls === undefined ? {} : { urls }),
        });
      }
      case 'RevokeToken':
        return target.revokeToken(tokenIdRequest(req.args));
      case 'CreateLink':
        return target.createLink(createLinkRequest(req.args));
      case 'UpdateLink':
        return target.updateLink(updateLinkRequest(req.args));
      case 'DeleteLink':
        return target.deleteLink(linkNameRequest(req.args));
    }
  }

  /** Deletes answers older than ANSWER_KEPT_MS (a token's answer holds a live token). */
  private async sweep(): Promise<void> {
    const { kube, logger } = this.opts;
    const { namespace } = kube;
    const failed = (err: unknown, verb: string, what: string) =>
      logger.warn(
        { err: describe(apiFailure(err, verb, what, namespace)) },
        'sweeping answered requests failed',
      );
    let answered: V1Secret[];
    try {
      answered = (
        await kube.core.listNamespacedSecret({ namespace, labelSelector: ANSWERED_SELECTOR })
      ).items;
    } catch (err) {
      failed(err, 'list', 'secrets');
      return;
    }
    for (const secret of answered) {
      const at = Date.parse(secret.metadata?.annotations?.[ANSWERED_AT] ?? '');
      const name = secret.metadata?.name;
      if (name === undefined || !(Date.now() - at > ANSWER_KEPT_MS)) continue;
      try {
        await kube.core.deleteNamespacedSecret({ name, namespace });
      } catch (err) {
        if (!notFound(err)) failed(err, 'delete', `secrets "${name}"`);
      }
    }
  }
}

/** CreateToken's `urls` (the address the CLI found for the link Service), checked. */
function linkUrls(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const bad = new SkiffError(
    ErrorCode.INVALID_ARGUMENT,
    `the token request's urls must list 1 to ${MAX_URLS} wss:// URLs`,
  );
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_URLS) throw bad;
  for (const url of value) {
    if (typeof url !== 'string' || url.length > MAX_URL || !URL.canParse(url)) throw bad;
    if (!url.startsWith('wss://')) throw bad;
  }
  return value as string[];
}
