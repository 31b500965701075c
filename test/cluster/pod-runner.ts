import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  PatchStrategy,
  setHeaderOptions,
  type V1Container,
  type V1ContainerStatus,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Api } from './api.js';
import { ContainerRunner, type RestartPolicy } from './container.js';
import {
  commandLine,
  containerEnv,
  type DataLookup,
  type Images,
  imageFor,
  runAs,
} from './container-spec.js';
import { PodConfigError } from './errors.js';
import type { KubeProxy } from './kube-proxy.js';
import { launchArgv } from './launch.js';
import type { ClusterNetwork, PodNetwork } from './network.js';
import { type ExecResult, execIn } from './pod-exec.js';
import { PodConditions, podStatus } from './pod-status.js';
import { type Prober, probeRequest } from './probe.js';
import { containerMounts, writeVolumes } from './volumes.js';

/** What every pod runner shares: the node it is on and the parts of the harness it uses. */
export interface NodeContext {
  api: Api;
  network: ClusterNetwork;
  proxy: KubeProxy;
  prober: Prober;
  images: Images;
  /** The node's address: the bridge's. */
  nodeIP: string;
  /** Where pods' directories (volumes) are made; removed with each pod. */
  podsDir: string;
  /**
   * Where containers' logs go, a directory per pod as a kubelet's /var/log/pods/NS_NAME_UID:
   * kept after the pod is gone (a test reads what it said on SIGTERM), removed with the cluster.
   */
  logsDir: string;
  /** The variables a kubelet gives every container for the `kubernetes` Service. */
  serviceEnv: Readonly<Record<string, string>>;
  /** The audience of projected tokens that name none. */
  tokenAudience: string;
  lookup: DataLookup;
  /** Says what went wrong where no caller can be told (a status patch, a deletion). */
  warn: (message: string) => void;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_GRACE_SECONDS = 30;

type Phase = 'starting' | 'running' | 'terminating' | 'gone';

/**
 * One pod on the test node, from the kubelet's side: its network namespace and address,
 * hosts file and proxy rules, volumes, one ContainerRunner per container, and its status
 * in the API. Deleting the pod (a deletionTimestamp) stops its containers within the grace
 * period, removes its namespace and directory, and finalises the Pod object (a delete with
 * grace 0, on its uid).
 */
export class PodRunner {
  private phase: Phase = 'starting';
  private readonly starting: Promise<void>;
  private net: PodNetwork | undefined;
  private dir: string | undefined;
  private readonly logDir: string;
  private containers: ContainerRunner[] = [];
  private unstartable: V1ContainerStatus[] = [];
  private readonly conditions = new PodConditions();
  private readonly startTime = new Date();
  private patching: Promise<void> | undefined;
  private patchAgain = false;
  private readonly seenAt = Date.now();
  /** ms from the kubelet first seeing the pod to its Ready condition, once it has been Ready. */
  readyAfterMs: number | undefined;

  constructor(
    private pod: V1Pod,
    private readonly node: NodeContext,
    private readonly onGone: () => void,
  ) {
    const { namespace, name, uid } = pod.metadata ?? {};
    this.logDir = join(node.logsDir, `${namespace}_${name}_${uid}`);
    this.starting = this.start().catch((err: unknown) => {
      // No network or directory: nothing runs, and the status cannot say so.
      node.warn(`pod ${this.namespace}/${this.name} did not start: ${String(err)}`);
    });
  }

  get namespace(): string {
    return this.pod.metadata?.namespace ?? 'default';
  }

  get name(): string {
    return this.pod.metadata?.name ?? '';
  }

  /** The pod's address, once its network is up. */
  get ip(): string | undefined {
    return this.net?.ip;
  }

  /** The pod's network namespace, once made. */
  get netns(): string | undefined {
    return this.net?.ns;
  }

  /** The pids of its containers' processes that run now. */
  get containerPids(): number[] {
    return this.containers.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  /** A container by name (default: the first). */
  container(name?: string): ContainerRunner {
    const found =
      name === undefined ? this.containers[0] : this.containers.find((c) => c.name === name);
    if (!found)
      throw new Error(`pod ${this.namespace}/${this.name} has no running container ${name ?? ''}`);
    return found;
  }

  /** Where a container's output goes (what `kubectl logs` would show). */
  logFile(container?: string): string {
    return join(this.logDir, `${this.containerSpec(container).name}.log`);
  }

  /** A newer version of the Pod object: a deletion starts the graceful stop. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp && this.phase !== 'terminating' && this.phase !== 'gone') {
      const grace =
        pod.metadata.deletionGracePeriodSeconds ??
        pod.spec?.terminationGracePeriodSeconds ??
        DEFAULT_GRACE_SECONDS;
      void this.terminate(grace * 1000, true);
    }
  }

  /** The Pod object is gone (or the node is going): stop everything now, tell the API nothing. */
  kill(): Promise<void> {
    return this.terminate(0, false);
  }

  /** Runs `argv` in a container (default: the first) as `kubectl exec` would (pod-exec.ts). */
  exec(argv: readonly string[], container?: string, input?: string): Promise<ExecResult> {
    const runner = this.container(container);
    const pid = runner.pid;
    if (pid === undefined) {
      throw new Error(`container ${runner.name} of ${this.namespace}/${this.name} is not running`);
    }
    const spec = this.containerSpec(runner.name);
    const user = runAs(this.pod, spec, imageFor(this.node.images, spec));
    return execIn(pid, user, runner.env, argv, input);
  }

  private containerSpec(name?: string): V1Container {
    const containers = this.pod.spec?.containers ?? [];
    const spec = name === undefined ? containers[0] : containers.find((c) => c.name === name);
    if (!spec) throw new Error(`pod ${this.namespace}/${this.name} has no container ${name ?? ''}`);
    return spec;
  }

  private async start(): Promise<void> {
    const uid = this.pod.metadata?.uid ?? this.name;
    this.dir = join(this.node.podsDir, uid);
    await mkdir(this.dir, { recursive: true });
    await mkdir(this.logDir, { recursive: true });
    this.net = await this.node.network.addPod();
    const hostname = (this.pod.spec?.hostname ?? this.name).slice(0, 63);
    await this.node.proxy.add(this.net.ns, {
      namespace: this.namespace,
      hostname,
      ip: this.net.ip,
    });
    if (this.phase !== 'starting') return;
    try {
      this.containers = await this.makeContainers(this.net, hostname);
    } catch (caught) {
      const err =
        caught instanceof PodConfigError
          ? caught
          : new PodConfigError('CreateContainerError', String(caught));
      this.unstartable = (this.pod.spec?.containers ?? []).map((c) =>
        ContainerRunner.waiting(c.name, c.image ?? '', err.reason, err.message),
      );
    }
    if (this.phase !== 'starting') return;
    this.phase = 'running';
    for (const container of this.containers) container.start();
    this.patchStatus();
  }

  private async makeContainers(net: PodNetwork, hostname: string): Promise<ContainerRunner[]> {
    const { pod, node } = this;
    if (pod.spec?.initContainers?.length) {
      throw new PodConfigError(
        'CreateContainerConfigError',
        'the skiff test kubelet runs no initContainers',
      );
    }
    const ips = { podIP: net.ip, hostIP: node.nodeIP };
    const volumes = await writeVolumes(join(this.dir!, 'volumes'), {
      pod,
      ...ips,
      core: node.api.core,
      lookup: node.lookup,
      defaultAudience: node.tokenAudience,
    });
    const restartPolicy = (pod.spec?.restartPolicy ?? 'Always') as RestartPolicy;
    const graceMs = (pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
    const runners: ContainerRunner[] = [];
    for (const spec of pod.spec?.containers ?? []) {
      const image = imageFor(node.images, spec);
      // A runtime's default PATH, unless the image sets one (an image's ENV PATH is the container's).
      const base = {
        PATH: image.env?.PATH ?? DEFAULT_PATH,
        HOSTNAME: hostname,
        ...node.serviceEnv,
      };
      const env = await containerEnv(pod, spec, image, base, ips, node.lookup);
      const argv = launchArgv({
        netns: net.ns,
        hostname,
        mounts: containerMounts(spec, volumes),
        workingDir: spec.workingDir ?? image.workingDir ?? process.cwd(),
        runAs: runAs(pod, spec, image),
        command: commandLine(image, spec, env),
      });
      const probe = (p: typeof spec.readinessProbe) =>
        p ? { spec: p, request: probeRequest(p, net.ip, spec.ports) } : undefined;
      if (spec.startupProbe) {
        throw new PodConfigError(
          'CreateContainerConfigError',
          'the skiff test kubelet runs no startupProbe',
        );
      }
      runners.push(
        new ContainerRunner({
          name: spec.name,
          image: spec.image ?? '',
          argv,
          env,
          logFile: join(this.logDir, `${spec.name}.log`),
          restartPolicy,
          terminationGraceMs: graceMs,
          readiness: probe(spec.readinessProbe),
          liveness: probe(spec.livenessProbe),
          runProbe: (request) => node.prober.probe(request),
          onChange: () => this.patchStatus(),
        }),
      );
    }
    return runners;
  }

  private async terminate(graceMs: number, finalise: boolean): Promise<void> {
    if (this.phase === 'terminating' || this.phase === 'gone') return;
    this.phase = 'terminating';
    await this.starting.catch(() => undefined);
    await Promise.all(this.containers.map((c) => c.stop(graceMs)));
    if (this.net) {
      this.node.proxy.remove(this.net.ns);
      await this.node.network.removePod(this.net);
    }
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    await this.patching?.catch(() => undefined);
    this.phase = 'gone';
    if (finalise) await this.finalise();
    this.onGone();
  }

  /** Deletes the Pod object for good, as a kubelet does once the containers are gone. */
  private async finalise(): Promise<void> {
    const { uid } = this.pod.metadata ?? {};
    try {
      await this.node.api.core.deleteNamespacedPod({
        name: this.name,
        namespace: this.namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (err) {
      if (!isNotFound(err))
        this.node.warn(`deleting pod ${this.namespace}/${this.name}: ${String(err)}`);
    }
  }

  /** Sends the current status; a change while one is in flight sends again after it. */
  private patchStatus(): void {
    if (this.phase === 'gone' || !this.net) return;
    if (this.patching) {
      this.patchAgain = true;
      return;
    }
    this.patching = (async () => {
      do {
        this.patchAgain = false;
        const status = podStatus({
          podIP: this.net!.ip,
          hostIP: this.node.nodeIP,
          startTime: this.startTime,
          containers: [...this.unstartable, ...this.containers.map((c) => c.status())],
          conditions: this.conditions,
        });
        if (
          this.readyAfterMs === undefined &&
          status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ) {
          this.readyAfterMs = Date.now() - this.seenAt;
        }
        try {
          await this.node.api.core.patchNamespacedPodStatus(
            { name: this.name, namespace: this.namespace, body: { status } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        } catch (err) {
          if (!isNotFound(err)) {
            this.node.warn(`patching the status of ${this.namespace}/${this.name}: ${String(err)}`);
          }
        }
      } while (this.patchAgain && this.phase !== 'gone');
    })().finally(() => {
      this.patching = undefined;
    });
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 404;
}
