import { EventEmitter } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { withTimeout } from '../helpers/wait.js';
import type { Api } from './api.js';
import { run } from './command.js';
import { hostsFile, type PodIdentity } from './hosts-file.js';
import { Watched } from './informer.js';
import { etcDir } from './network.js';
import { proxyRules } from './nft-rules.js';
import { type ServiceView, serviceViews } from './services.js';

/** One pod's namespace as the proxy keeps it: what it should have, and what it has. */
interface PodProxy {
  netns: string;
  identity: PodIdentity;
  hosts?: string;
  rules?: string;
  /** The views the applied rules were made from. */
  applied: ServiceView[];
  syncing?: Promise<void>;
  dirty: boolean;
}

/**
 * kube-proxy and cluster DNS for the pods' namespaces. It watches Services and
 * EndpointSlices (the real endpointslice controller's, and the API server's for
 * `kubernetes`) and keeps, in each pod's network namespace, nftables rules that send a
 * connection to a ClusterIP:port to one of its ready endpoints (nft-rules.ts), and the
 * /etc/netns/NS/hosts that `ip netns exec` mounts as its /etc/hosts, naming every Service
 * (hosts-file.ts). The hosts file is rewritten in place (a rename would leave the pod's
 * bind mount on the old file).
 */
export class KubeProxy {
  private readonly pods = new Map<string, PodProxy>();
  private readonly events = new EventEmitter();
  private views: ServiceView[] = [];
  private scheduled = false;
  /** The last failure to apply a pod's rules, for the message of a wait that times out. */
  private failure: unknown;

  private constructor(
    private readonly services: Watched<V1Service>,
    private readonly slices: Watched<V1EndpointSlice>,
  ) {}

  static async start(api: Api): Promise<KubeProxy> {
    let proxy: KubeProxy | undefined;
    const changed = (): void => proxy?.schedule();
    const services = new Watched<V1Service>(
      api.config,
      '/api/v1/services',
      () => api.core.listServiceForAllNamespaces(),
      changed,
    );
    const slices = new Watched<V1EndpointSlice>(
      api.config,
      '/apis/discovery.k8s.io/v1/endpointslices',
      () => api.discovery.listEndpointSliceForAllNamespaces(),
      changed,
    );
    proxy = new KubeProxy(services, slices);
    try {
      await Promise.all([services.start(), slices.start()]);
    } catch (err) {
      proxy.stop();
      throw err;
    }
    proxy.views = serviceViews(services.list(), slices.list());
    return proxy;
  }

  /** Gives a new pod's namespace its hosts file and rules; resolves once both are in place. */
  async add(netns: string, identity: PodIdentity): Promise<void> {
    const pod: PodProxy = { netns, identity, applied: [], dirty: false };
    this.pods.set(netns, pod);
    await mkdir(etcDir(netns), { recursive: true });
    await this.sync(pod);
  }

  /** Forgets a pod (its namespace and /etc/netns directory go with the pod's network). */
  remove(netns: string): void {
    this.pods.delete(netns);
  }

  /**
   * Resolves once the rules in every pod's namespace send `namespace/name`'s `port` to
   * exactly these endpoint addresses (none: refused), as applied, not merely as listed.
   */
  async waitForBackends(
    namespace: string,
    name: string,
    port: number,
    ips: readonly string[],
    timeoutMs = 30_000,
  ): Promise<void> {
    const want = [...ips].sort().join(',');
    const holds = (): boolean =>
      [...this.pods.values()].every((pod) => {
        const view = pod.applied.find((v) => v.namespace === namespace && v.name === name);
        const got = view?.ports.find((p) => p.port === port)?.backends.map((b) => b.ip);
        return got !== undefined && [...got].sort().join(',') === want;
      });
    if (holds()) return;
    let listener: (() => void) | undefined;
    try {
      await withTimeout(
        new Promise<void>((resolve) => {
          listener = () => {
            if (holds()) resolve();
          };
          this.events.on('applied', listener);
        }),
        timeoutMs,
        `kube-proxy rules for ${namespace}/${name}:${port} -> [${want}]` +
          (this.failure ? ` (last failure: ${String(this.failure)})` : ''),
      );
    } finally {
      if (listener) this.events.off('applied', listener);
    }
  }

  stop(): void {
    this.services.stop();
    this.slices.stop();
    this.pods.clear();
  }

  /** Coalesces a burst of watch events into one recomputation. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.views = serviceViews(this.services.list(), this.slices.list());
      for (const pod of this.pods.values()) {
        this.sync(pod).catch((err: unknown) => {
          this.failure = err;
        });
      }
    });
  }

  /** Brings one pod up to date; a change meanwhile runs it again once the current one is done. */
  private async sync(pod: PodProxy): Promise<void> {
    if (pod.syncing) {
      pod.dirty = true;
      return pod.syncing;
    }
    pod.syncing = (async () => {
      do {
        pod.dirty = false;
        const views = this.views;
        const hosts = hostsFile(pod.identity, views);
        const rules = proxyRules(views);
        try {
          if (hosts !== pod.hosts) {
            await writeFile(join(etcDir(pod.netns), 'hosts'), hosts);
            pod.hosts = hosts;
          }
          if (rules !== pod.rules) {
            await run(['ip', 'netns', 'exec', pod.netns, 'nft', '-f', '-'], rules);
            pod.rules = rules;
          }
          pod.applied = views;
        } catch (err) {
          // The pod's namespace went away under us: it is being removed.
          if (this.pods.has(pod.netns)) throw err;
          return;
        }
        this.events.emit('applied');
      } while (pod.dirty && this.pods.has(pod.netns));
    })().finally(() => {
      pod.syncing = undefined;
    });
    return pod.syncing;
  }
}
