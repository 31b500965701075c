import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlPlaneBinaries } from '../controlplane/binaries.js';
import {
  ControlPlane,
  KUBERNETES_SERVICE_IP,
  SERVICE_ACCOUNT_ISSUER,
} from '../controlplane/controlplane.js';
import type { KubectlOptions, KubectlResult } from '../controlplane/kubectl.js';
import { killWithTestProcess } from '../helpers/children.js';
import { Cleanup, withTimeout } from '../helpers/wait.js';
import { type Api, connectApi } from './api.js';
import type { DataLookup, Images } from './container-spec.js';
import { atExit } from './exit-cleanup.js';
import { KubeProxy } from './kube-proxy.js';
import { Kubelet } from './kubelet.js';
import { ClusterNetwork } from './network.js';
import { isNotFound, type PodRunner } from './pod-runner.js';
import { Prober } from './probe.js';

/** The API server's port, in the cluster's own namespace (nothing else binds there), as kubeadm's. */
export const APISERVER_PORT = 6443;

export interface ClusterOptions {
  /** What runs for each image name a pod may use. */
  images: Images;
  binaries?: ControlPlaneBinaries;
  /**
   * The pods' network, an `A.B.0.0/16` (default 10.244.0.0/16); the bridge, node and API
   * server take A.B.0.1. Clusters a test links to each other need distinct ones.
   */
  podCidr?: string;
}

/**
 * A Kubernetes cluster for tests, with no container runtime: the real control plane
 * (test/controlplane) runs in a network namespace of its own, the API server on the
 * address of a bridge there; the test plays the node around it (kubelet.ts: a Node, pods
 * in network namespaces on the bridge, probes, restarts, service-account tokens; and
 * kube-proxy.ts: Service names and ClusterIPs). This process reaches the API server
 * through a unix socket bridged into that namespace (clients in this process: api()), and
 * kubectl runs in the namespace (`ip netns exec`, kubectl()). stop(), and process exit,
 * remove every namespace, process and directory it made.
 */
export class Cluster {
  private stopped = false;

  private constructor(
    readonly network: ClusterNetwork,
    /** Holds the bridge's socket, the pods' directories and logs; mode 0700. */
    readonly workDir: string,
    readonly controlPlane: ControlPlane,
    readonly api: Api,
    readonly proxy: KubeProxy,
    readonly kubelet: Kubelet,
    /** The bridge's and the prober's pids. */
    private readonly helpers: (number | undefined)[],
    private readonly cleanup: Cleanup,
  ) {}

  static async start(options: ClusterOptions): Promise<Cluster> {
    const cleanup = new Cleanup();
    try {
      const network = ClusterNetwork.create(options.podCidr);
      cleanup.add(() => network.dispose());
      const workDir = await mkdtemp(join(tmpdir(), `skiff-cluster-${process.pid}-`));
      cleanup.add(removeDirAtExit(workDir));
      const podsDir = join(workDir, 'pods');
      const logsDir = join(workDir, 'logs');
      await Promise.all([mkdir(podsDir), mkdir(logsDir)]);
      const socketPath = join(workDir, 'apiserver.sock');
      const bridge = await startBridge(network, socketPath);
      cleanup.add(() => stopChild(bridge));
      const controlPlane = await ControlPlane.start({
        host: network.gateway,
        port: APISERVER_PORT,
        wrapper: network.wrapper,
        socketPath,
        ...(options.binaries ? { binaries: options.binaries } : {}),
      });
      cleanup.add(removeDirAtExit(controlPlane.workDir));
      cleanup.add(() => controlPlane.stop());
      const api = connectApi(controlPlane.adminKubeconfig, socketPath);
      cleanup.add(() => api.config.close());
      const prober = await Prober.start(network.wrapper);
      cleanup.add(() => prober.stop());
      const proxy = await KubeProxy.start(api);
      cleanup.add(() => proxy.stop());
      const kubelet = await Kubelet.start({
        api,
        network,
        proxy,
        prober,
        images: options.images,
        nodeIP: network.gateway,
        podsDir,
        logsDir,
        serviceEnv: kubernetesServiceEnv(),
        tokenAudience: SERVICE_ACCOUNT_ISSUER,
        lookup: dataLookup(api),
        warn: (message) => process.stderr.write(`skiff test cluster: ${message}\n`),
      });
      cleanup.add(() => kubelet.stop());
      const helpers = [bridge.pid, prober.pid];
      return new Cluster(network, workDir, controlPlane, api, proxy, kubelet, helpers, cleanup);
    } catch (err) {
      await cleanup.run().catch(() => undefined);
      throw err;
    }
  }

  /** kubectl as the admin (or with `kubeconfig`), run in the cluster's namespace. */
  kubectl(
    args: readonly string[],
    options: KubectlOptions & { kubeconfig?: string } = {},
  ): Promise<KubectlResult> {
    return this.controlPlane.kubectl(args, options);
  }

  /**
   * Words that run a command in the cluster's namespace, where the API server's address
   * (controlPlane.server) is reachable: e.g. the skiff CLI with a kubeconfig from
   * controlPlane.userKubeconfig().
   */
  get wrapper(): string[] {
    return this.network.wrapper;
  }

  /** A pod running on the node now, e.g. to crash its process or exec in it. */
  pod(namespace: string, name: string): PodRunner {
    return this.kubelet.pod(namespace, name);
  }

  /** Every process the cluster runs now: the control plane, its helpers, the pods' containers. */
  get pids(): number[] {
    const containers = this.kubelet.pods.flatMap((pod) => pod.containerPids);
    const helpers = this.helpers.filter((pid) => pid !== undefined);
    return [...this.controlPlane.pids, ...helpers, ...containers];
  }

  /** The network namespaces it has made and not yet deleted. */
  get namespaces(): string[] {
    return [this.network.ns, ...this.network.podNamespaces];
  }

  /** The directories it made: its own and the control plane's. */
  get dirs(): string[] {
    return [this.workDir, this.controlPlane.workDir];
  }

  /** Kills the pods, stops the harness and the control plane, deletes the namespaces and directories. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.cleanup.run();
  }
}

/**
 * Removes `dir` at process exit unless the returned step (a Cleanup step) removes it first:
 * a test process that dies before stop() leaves no directory behind.
 */
function removeDirAtExit(dir: string): () => void {
  return atExit(() => rmSync(dir, { recursive: true, force: true }));
}

/** Runs unix-bridge-main.js in the cluster's namespace: this process's way to the API server. */
async function startBridge(network: ClusterNetwork, socketPath: string): Promise<ChildProcess> {
  const file = new URL('../helpers/unix-bridge-main.js', import.meta.url).pathname;
  const target = `${network.gateway}:${APISERVER_PORT}`;
  const [command, ...args] = [...network.wrapper, process.execPath, file, socketPath, target];
  const child = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  killWithTestProcess(child);
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', () => reject(new Error('the API server bridge exited')));
      }),
      10_000,
      'the API server bridge to listen',
    );
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** What a kubelet puts in every container's environment for the `kubernetes` Service. */
function kubernetesServiceEnv(): Record<string, string> {
  const ip = KUBERNETES_SERVICE_IP;
  return {
    KUBERNETES_SERVICE_HOST: ip,
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: `tcp://${ip}:443`,
    KUBERNETES_PORT_443_TCP: `tcp://${ip}:443`,
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: '443',
    KUBERNETES_PORT_443_TCP_ADDR: ip,
  };
}

function dataLookup(api: Api): DataLookup {
  return async (kind, namespace, name) => {
    try {
      if (kind === 'ConfigMap') {
        return (await api.core.readNamespacedConfigMap({ name, namespace })).data ?? {};
      }
      const secret = await api.core.readNamespacedSecret({ name, namespace });
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
}
