import type { V1Pod } from '@kubernetes/client-node';
import type { PortRef } from '../config/targets.js';
import { ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import type { KubeConnection } from './connect.js';
import type { Endpoint } from './stream-balance.js';
import type { Readiness } from './target-source.js';
import { Watched } from './watched.js';

/** Pods one target follows: more is a selector picking far more than one service's pods. */
export const MAX_PODS = 1000;

/**
 * The pods a label selector picks in the namespace, watched (watched.ts). A pod is ready
 * once it has an IP, its Ready condition is True and it is not being deleted: what a
 * Service's EndpointSlices count as ready.
 */
export class PodSource {
  private readonly pods: Watched<V1Pod>;

  constructor(
    kube: KubeConnection,
    /** In the API's labelSelector syntax (equality or set-based terms). */
    readonly selector: string,
    /** What the pods belong to, for messages: `deployment/api`, `selector app=api`. */
    private readonly owner: string,
    logger: Logger,
  ) {
    const { namespace } = kube;
    this.pods = new Watched<V1Pod>(
      kube,
      {
        what: `pods with ${selector}`,
        resource: 'pods',
        path: `/api/v1/namespaces/${namespace}/pods`,
        list: () => kube.core.listNamespacedPod({ namespace, labelSelector: selector }),
        labelSelector: selector,
        maxItems: MAX_PODS,
      },
      logger,
    );
  }

  start(): void {
    this.pods.start();
  }

  whenSynced(): Promise<void> {
    return this.pods.whenSynced();
  }

  stop(): void {
    this.pods.stop();
  }

  readiness(): Readiness {
    const pods = this.pods.items();
    return { ready: pods.filter(isReady).length, total: pods.length };
  }

  /**
   * The ready pods at `port` (a number, or a container port's name: a pod that does not
   * name it is passed over); throws TARGET_UNAVAILABLE when there is none, its message
   * ending in `note`.
   */
  endpoints(port: PortRef, note = ''): Endpoint[] {
    const pods = this.pods.items();
    const ready = pods.filter(isReady);
    const endpoints: Endpoint[] = [];
    for (const pod of ready) {
      const number = typeof port === 'number' ? port : namedPort(pod, port);
      if (number !== undefined) {
        endpoints.push({ name: pod.metadata!.name!, ip: pod.status!.podIP!, port: number });
      }
    }
    if (endpoints.length > 0) return endpoints;
    const counts = `${ready.length} of ${pods.length} ready${note}`;
    throw new SkiffError(
      ErrorCode.TARGET_UNAVAILABLE,
      ready.length === 0
        ? `${this.owner} has no ready pod (${counts})`
        : `${this.owner} has no ready pod with a port named "${port}" (${counts}; their containers do not name it)`,
    );
  }
}

export function isReady(pod: V1Pod): boolean {
  if (!pod.metadata?.name || !pod.status?.podIP || pod.metadata.deletionTimestamp) return false;
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The number of the TCP port a container of the pod names so, as a Service's targetPort finds it. */
function namedPort(pod: V1Pod, name: string): number | undefined {
  for (const container of pod.spec?.containers ?? []) {
    for (const p of container.ports ?? []) {
      if (p.name === name && (p.protocol ?? 'TCP') === 'TCP') return p.containerPort;
    }
  }
  return undefined;
}
