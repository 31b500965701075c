import { PatchStrategy, setHeaderOptions, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { Watched, type WatchVerb } from './informer.js';
import { isNotFound, type NodeContext, PodRunner } from './pod-runner.js';

/** The one node of a test cluster. */
export const NODE_NAME = 'skiff-test-node';

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

/**
 * The test's kubelet (and scheduler): registers a Ready Node, binds every unscheduled Pod
 * to it through the binding subresource, and runs each Pod bound to it in a PodRunner,
 * following the Pod object through a watch until it is gone.
 */
export class Kubelet {
  private readonly runners = new Map<string, PodRunner>();
  /** Pods (by uid) whose runner has finished: later events about them change nothing. */
  private readonly finished = new Set<string>();
  private readonly bound = new Set<string>();
  private stopped = false;
  private readonly watch: Watched<V1Pod>;

  private constructor(private readonly node: NodeContext) {
    this.watch = new Watched<V1Pod>(
      node.api.config,
      '/api/v1/pods',
      () => node.api.core.listPodForAllNamespaces(),
      (verb, pod) => this.onPod(verb, pod),
    );
  }

  static async start(node: NodeContext): Promise<Kubelet> {
    await registerNode(node);
    const kubelet = new Kubelet(node);
    await kubelet.watch.start();
    return kubelet;
  }

  /** The runner of a pod running here now (not one being deleted). */
  pod(namespace: string, name: string): PodRunner {
    for (const runner of this.runners.values()) {
      if (runner.namespace === namespace && runner.name === name) return runner;
    }
    throw new Error(`pod ${namespace}/${name} does not run on the test node`);
  }

  /** Every pod runner, including those shutting down. */
  get pods(): PodRunner[] {
    return [...this.runners.values()];
  }

  /** Stops watching and kills every pod at once (no grace: the cluster is going away). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch.stop();
    await Promise.all([...this.runners.values()].map((runner) => runner.kill()));
    this.runners.clear();
  }

  private onPod(verb: WatchVerb, pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (this.stopped || uid === undefined || this.finished.has(uid)) return;
    const runner = this.runners.get(uid);
    if (verb === 'delete') {
      void runner?.kill();
      return;
    }
    if (runner) {
      runner.update(pod);
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      if (!pod.metadata?.deletionTimestamp) void this.bind(pod);
      return;
    }
    if (nodeName !== NODE_NAME) return;
    const fresh = new PodRunner(pod, this.node, () => {
      this.runners.delete(uid);
      this.finished.add(uid);
    });
    this.runners.set(uid, fresh);
    fresh.update(pod);
  }

  /** Schedules the pod here, as kube-scheduler would. */
  private async bind(pod: V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!;
    if (this.bound.has(uid)) return;
    this.bound.add(uid);
    try {
      await this.node.api.core.createNamespacedPodBinding({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        body: {
          metadata: { name: pod.metadata!.name!, uid },
          target: { apiVersion: 'v1', kind: 'Node', name: NODE_NAME },
        },
      });
    } catch (err) {
      // A pod deleted meanwhile is no news: the watch says so next.
      if (!isNotFound(err)) this.node.warn(`binding ${podKey(pod)}: ${String(err)}`);
    }
  }
}

/** Creates the Node and reports it Ready, with the bridge's address as its own. */
async function registerNode(node: NodeContext): Promise<void> {
  const { core } = node.api;
  const body: V1Node = {
    metadata: {
      name: NODE_NAME,
      labels: {
        'kubernetes.io/hostname': NODE_NAME,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
      },
    },
  };
  await core.createNode({ body });
  const now = new Date();
  const resources = { cpu: '2', memory: '8Gi', pods: '110' };
  await core.patchNodeStatus(
    {
      name: NODE_NAME,
      body: {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'the skiff test kubelet is posting ready status',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
          addresses: [
            { type: 'InternalIP', address: node.nodeIP },
            { type: 'Hostname', address: NODE_NAME },
          ],
          capacity: resources,
          allocatable: resources,
          nodeInfo: {
            architecture: process.arch,
            bootID: '',
            containerRuntimeVersion: 'skiff-test://0',
            kernelVersion: '',
            kubeProxyVersion: '',
            kubeletVersion: 'skiff-test',
            machineID: '',
            operatingSystem: 'linux',
            osImage: '',
            systemUUID: '',
          },
        },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}
