import type { V1ContainerStatus, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

type ConditionType =
  | 'PodScheduled'
  | 'PodReadyToStartContainers'
  | 'Initialized'
  | 'ContainersReady'
  | 'Ready';

/**
 * A pod's conditions with the time each last changed (a condition's lastTransitionTime
 * moves only when its status does, as a kubelet keeps them).
 */
export class PodConditions {
  private readonly conditions = new Map<ConditionType, V1PodCondition>();

  set(type: ConditionType, ok: boolean, reason?: string): void {
    const status = ok ? 'True' : 'False';
    const old = this.conditions.get(type);
    if (old?.status === status && old.reason === reason) return;
    this.conditions.set(type, {
      type,
      status,
      lastProbeTime: undefined,
      lastTransitionTime: old?.status === status ? old.lastTransitionTime : new Date(),
      ...(reason ? { reason } : {}),
    });
  }

  list(): V1PodCondition[] {
    return [...this.conditions.values()];
  }
}

/** What the status of a running pod is made from. */
export interface PodStatusInput {
  podIP: string;
  hostIP: string;
  startTime: Date;
  containers: V1ContainerStatus[];
  conditions: PodConditions;
}

/**
 * The status a kubelet reports for a pod it runs: Running once every container has been
 * started (Pending while one cannot start), the pod's and node's addresses, and Ready and
 * ContainersReady while every container is ready (no readiness gates). The whole status
 * goes in one merge patch, so every list in it is complete.
 */
export function podStatus(input: PodStatusInput): V1PodStatus {
  const { containers, conditions } = input;
  const allReady = containers.length > 0 && containers.every((c) => c.ready);
  const unstartable = containers.some(
    (c) =>
      c.state?.waiting && c.restartCount === 0 && c.state.waiting.reason !== 'ContainerCreating',
  );
  const created = containers.every((c) => c.state?.waiting?.reason !== 'ContainerCreating');
  conditions.set('PodScheduled', true);
  conditions.set('PodReadyToStartContainers', true);
  conditions.set('Initialized', true);
  const notReady = allReady ? undefined : 'ContainersNotReady';
  conditions.set('ContainersReady', allReady, notReady);
  conditions.set('Ready', allReady, notReady);
  return {
    phase: unstartable || !created ? 'Pending' : 'Running',
    podIP: input.podIP,
    podIPs: [{ ip: input.podIP }],
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: input.startTime,
    conditions: conditions.list(),
    containerStatuses: containers,
  };
}
