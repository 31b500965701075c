import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import type { PodTarget } from '../config/targets.js';
import { ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import type { KubeConnection } from './connect.js';
import { selectorText } from './label-selector.js';
import { PodSource } from './pod-source.js';
import type { Endpoint } from './stream-balance.js';
import type { Readiness, TargetSource } from './target-source.js';
import { Watched } from './watched.js';

type Workload = V1Deployment | V1StatefulSet;

/**
 * The ready pods of a Deployment or StatefulSet: the workload is watched by name, and its
 * pods through its selector (pod-source.ts). A workload that appears later, or is deleted
 * and made again with another selector, is followed without a restart; until it exists,
 * streams are refused with NOT_FOUND.
 */
export class WorkloadPods implements TargetSource {
  private readonly workload: Watched<Workload>;
  private pods: PodSource | undefined;
  /** Why the workload's pods cannot be followed (it does not exist, its selector is unusable). */
  private problem: SkiffError | undefined;
  private wanted: number | undefined;

  constructor(
    private readonly kube: KubeConnection,
    private readonly kind: 'deployment' | 'statefulset',
    private readonly name: string,
    private readonly logger: Logger,
  ) {
    const { apps, namespace } = kube;
    const fieldSelector = `metadata.name=${name}`;
    this.workload = new Watched<Workload>(
      kube,
      {
        what: `${kind}s.apps "${name}"`,
        resource: `${kind}s.apps`,
        path: `/apis/apps/v1/namespaces/${namespace}/${kind}s`,
        list: () =>
          kind === 'deployment'
            ? apps.listNamespacedDeployment({ namespace, fieldSelector })
            : apps.listNamespacedStatefulSet({ namespace, fieldSelector }),
        fieldSelector,
        maxItems: 1,
      },
      logger,
      () => this.follow(),
    );
  }

  private get label(): string {
    return `${this.kind}/${this.name}`;
  }

  start(): void {
    this.workload.start();
  }

  async whenSynced(): Promise<void> {
    await this.workload.whenSynced();
    // The selector may change while its pods are being listed: wait for the current ones.
    for (;;) {
      const pods = this.pods;
      if (pods === undefined) return;
      await pods.whenSynced();
      if (pods === this.pods) return;
    }
  }

  stop(): void {
    this.workload.stop();
    this.pods?.stop();
    this.pods = undefined;
  }

  endpoints(target: PodTarget): Endpoint[] {
    this.workload.items();
    if (this.problem !== undefined) throw this.problem;
    const note = this.wanted === undefined ? '' : `, ${this.wanted} wanted`;
    return this.pods!.endpoints(target.targetPort, note);
  }

  readiness(): Readiness | { error: string } {
    try {
      this.workload.items();
      if (this.problem !== undefined) throw this.problem;
      return this.pods!.readiness();
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  /** The workload changed (or was first read): follow its selector's pods. */
  private follow(): void {
    let workload: Workload | undefined;
    try {
      [workload] = this.workload.items();
    } catch {
      return; // not listed: endpoints() says why
    }
    this.wanted = workload?.spec?.replicas;
    const selector = workload === undefined ? undefined : selectorText(workload.spec?.selector);
    if (selector?.problem !== undefined || selector === undefined) {
      this.problem =
        selector === undefined
          ? new SkiffError(
              ErrorCode.NOT_FOUND,
              `there is no ${this.label} in namespace ${this.kube.namespace}`,
            )
          : new SkiffError(
              ErrorCode.INVALID_ARGUMENT,
              `${this.label} cannot be followed: ${selector.problem}`,
            );
      this.pods?.stop();
      this.pods = undefined;
      return;
    }
    this.problem = undefined;
    if (this.pods?.selector === selector.text) return;
    this.pods?.stop();
    this.pods = new PodSource(this.kube, selector.text, this.label, this.logger);
    this.pods.start();
  }
}
