import {
  type Informer,
  makeInformer,
  type ObjectCache,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { Backoff } from '../link/backoff.js';
import type { Logger } from '../log.js';
import type { KubeConnection } from './connect.js';
import { apiFailure, kubeError } from './errors.js';

/** A pod a stream can be sent to. */
export interface ReadyPod {
  name: string;
  ip: string;
}

/** A pod chosen for one stream; release() when the stream ends. */
export interface PodLease {
  pod: ReadyPod;
  release(): void;
}

/**
 * The ready pods of one Deployment (`expose deployment/NAME`), kept current by an informer:
 * it lists the pods matching the Deployment's selector, then watches them (re-listing after
 * the watch expires, restarting with backoff after an error). A pod counts once it has an
 * IP and its Ready condition is True, as a Service's endpoints would count it. The
 * selector is read once, at start: a Deployment's selector cannot change.
 */
export class DeploymentPods {
  /** Open streams per pod name. */
  private readonly streams = new Map<string, number>();
  private informer: (Informer<V1Pod> & ObjectCache<V1Pod>) | undefined;
  private readonly backoff = new Backoff(200, 10_000);
  private stopped = false;
  /** Runs after every change the informer reports (tests and status wait on it). */
  onChange: () => void = () => undefined;

  constructor(
    private readonly kube: KubeConnection,
    readonly deployment: string,
    private readonly logger: Logger,
  ) {}

  /** Reads the Deployment's selector and starts watching its pods; resolves after the first list. */
  async start(): Promise<void> {
    const { namespace } = this.kube;
    const selector = await this.selector();
    const informer = makeInformer<V1Pod>(
      this.kube.config,
      `/api/v1/namespaces/${namespace}/pods`,
      () => this.kube.core.listNamespacedPod({ namespace, labelSelector: selector }),
      selector,
    );
    for (const event of ['add', 'update', 'delete'] as const) {
      informer.on(event, () => {
        this.backoff.reset();
        this.onChange();
      });
    }
    informer.on('error', (err) => this.restartLater(err));
    this.informer = informer;
    await informer.start();
  }

  stop(): void {
    this.stopped = true;
    void this.informer?.stop();
  }

  /** Ready pods, by name. */
  ready(): ReadyPod[] {
    const pods = this.informer?.list(this.kube.namespace) ?? [];
    return pods
      .filter(isReady)
      .map((p) => ({ name: p.metadata!.name!, ip: p.status!.podIP! }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The ready pod with the fewest open streams (the first by name among equals), or a
   * SkiffError naming the Deployment when none is ready.
   */
  pick(): PodLease {
    let best: ReadyPod | undefined;
    let least = Number.POSITIVE_INFINITY;
    for (const pod of this.ready()) {
      const open = this.streams.get(pod.name) ?? 0;
      if (open < least) {
        best = pod;
        least = open;
      }
    }
    if (best === undefined) {
      throw new SkiffError(
        ErrorCode.NOT_FOUND,
        `deployment/${this.deployment} in namespace ${this.kube.namespace} has no ready pods`,
      );
    }
    const name = best.name;
    this.streams.set(name, least + 1);
    let released = false;
    return {
      pod: best,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.streams.get(name) ?? 1) - 1;
        if (left > 0) this.streams.set(name, left);
        else this.streams.delete(name);
      },
    };
  }

  private async selector(): Promise<string> {
    const { namespace } = this.kube;
    let deployment: V1Deployment;
    try {
      deployment = await this.kube.apps.readNamespacedDeployment({
        name: this.deployment,
        namespace,
      });
    } catch (err) {
      if (kubeError(err)?.code === 404) {
        throw new SkiffError(
          ErrorCode.NOT_FOUND,
          `there is no deployment/${this.deployment} in namespace ${namespace}`,
        );
      }
      throw apiFailure(err, 'get', `deployments.apps "${this.deployment}"`, namespace);
    }
    if ((deployment.spec?.selector.matchExpressions?.length ?? 0) > 0) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `deployment/${this.deployment} selects its pods with matchExpressions, which skiff does not follow yet; use matchLabels`,
      );
    }
    const entries = Object.entries(deployment.spec?.selector.matchLabels ?? {});
    if (entries.length === 0) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `deployment/${this.deployment} has an empty selector`,
      );
    }
    return entries.map(([k, v]) => `${k}=${v}`).join(',');
  }

  private restartLater(err: unknown): void {
    if (this.stopped) return;
    const ms = this.backoff.delay();
    this.logger.warn(
      { deployment: this.deployment, err: describe(err), retryMs: ms },
      'watching the deployment pods failed; retrying',
    );
    setTimeout(() => {
      if (!this.stopped) void this.informer?.start().catch((e: unknown) => this.restartLater(e));
    }, ms).unref();
  }
}

function isReady(pod: V1Pod): boolean {
  if (!pod.metadata?.name || !pod.status?.podIP || pod.metadata.deletionTimestamp) return false;
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
