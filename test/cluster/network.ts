import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { run, runSync } from './command.js';
import { atExit } from './exit-cleanup.js';

/** The pods' network: a /16; the bridge holds its first address, which is also the node's. */
export const POD_PREFIX_LENGTH = 16;
export const DEFAULT_POD_CIDR = '10.244.0.0/16';
/** The bridge's address in DEFAULT_POD_CIDR. */
export const GATEWAY = '10.244.0.1';
const BRIDGE = 'br0';
/** Host numbers in the /16 a cluster hands out (never reused within one, so a stale rule never hits a new pod). */
const FIRST_HOST = 2;
const LAST_HOST = 0xfffe;

/** Where `ip netns exec NS` finds the files it bind-mounts over /etc (hosts, for names). */
export function etcDir(ns: string): string {
  return `/etc/netns/${ns}`;
}

/** One pod's network namespace: a veth into the cluster's bridge, its own address, a default route via the bridge. */
export interface PodNetwork {
  ns: string;
  ip: string;
  /** The veth's end in the cluster namespace, on the bridge. */
  hostVeth: string;
}

let created = 0;

/** The first two octets of a `A.B.0.0/16` pod network; anything else is refused. */
export function podNetworkPrefix(cidr: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) {
    throw new Error(`pod network ${JSON.stringify(cidr)} is not an A.B.0.0/16`);
  }
  return `${m[1]}.${m[2]}`;
}

/**
 * A cluster's network: a namespace with a bridge (the node's side: the control plane binds
 * the bridge's address there) and one namespace per pod, each on the bridge through a veth.
 * Nothing is added to the test's own namespace. Names carry the pid and a counter, so runs
 * and clusters never collide; so do the pod networks when each cluster is given its own
 * podCidr (two clusters a test links must not share one: a reply would stay on the bridge); dispose() (also run at process exit) deletes every namespace
 * and the /etc/netns directories of the pods.
 */
export class ClusterNetwork {
  readonly ns: string;
  private readonly pods = new Map<string, PodNetwork>();
  private nextHost = FIRST_HOST;
  private podCount = 0;
  private readonly tag: string;
  private readonly cancelAtExit: () => void;

  /** The bridge's address: the node's, the pods' default route, the API server's. */
  readonly gateway: string;
  private readonly prefix: string;

  private constructor(readonly podCidr: string) {
    this.prefix = podNetworkPrefix(podCidr);
    this.gateway = `${this.prefix}.0.1`;
    this.tag = `${process.pid}-${++created}`;
    this.ns = `skiff-k8s-${this.tag}`;
    this.cancelAtExit = atExit(() => this.deleteAll());
  }

  static create(podCidr = DEFAULT_POD_CIDR): ClusterNetwork {
    const network = new ClusterNetwork(podCidr);
    try {
      const { ns } = network;
      runSync(['ip', 'netns', 'add', ns]);
      runSync(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      runSync(['ip', '-n', ns, 'link', 'add', BRIDGE, 'type', 'bridge']);
      runSync([
        'ip',
        '-n',
        ns,
        'addr',
        'add',
        `${network.gateway}/${POD_PREFIX_LENGTH}`,
        'dev',
        BRIDGE,
      ]);
      runSync(['ip', '-n', ns, 'link', 'set', BRIDGE, 'up']);
    } catch (err) {
      network.dispose();
      throw err;
    }
    return network;
  }

  /** Words that run a command in the cluster namespace (exec, no fork: the pid stays the command's). */
  get wrapper(): string[] {
    return ['ip', 'netns', 'exec', this.ns];
  }

  /** Names of the pod namespaces that exist now. */
  get podNamespaces(): string[] {
    return [...this.pods.keys()];
  }

  /** Makes a pod's namespace, wired to the bridge with the next free address. */
  async addPod(): Promise<PodNetwork> {
    const host = this.nextHost++;
    if (host > LAST_HOST) throw new Error(`cluster ${this.ns} has handed out every pod address`);
    const pod: PodNetwork = {
      ns: `skiff-pod-${this.tag}-${++this.podCount}`,
      ip: `${this.prefix}.${host >> 8}.${host & 0xff}`,
      hostVeth: `veth${host}`,
    };
    this.pods.set(pod.ns, pod);
    try {
      await run(['ip', 'netns', 'add', pod.ns]);
      const cluster = ['ip', '-n', this.ns];
      await run([
        ...cluster,
        'link',
        'add',
        pod.hostVeth,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        pod.ns,
      ]);
      await run([...cluster, 'link', 'set', pod.hostVeth, 'master', BRIDGE, 'up']);
      const inPod = [
        `addr add ${pod.ip}/${POD_PREFIX_LENGTH} dev eth0`,
        'link set eth0 up',
        'link set lo up',
        `route add default via ${this.gateway}`,
      ];
      await run(['ip', '-n', pod.ns, '-batch', '-'], `${inPod.join('\n')}\n`);
    } catch (err) {
      await this.removePod(pod);
      throw err;
    }
    return pod;
  }

  /** Deletes a pod's namespace (its veth goes with it) and its /etc/netns directory. */
  async removePod(pod: PodNetwork): Promise<void> {
    if (!this.pods.has(pod.ns)) return;
    await run(['ip', 'netns', 'del', pod.ns]).catch(() => undefined);
    await rm(etcDir(pod.ns), { recursive: true, force: true });
    // Only now: until it is gone, the clean-up at exit must still see it.
    this.pods.delete(pod.ns);
  }

  /** Deletes every pod namespace and the cluster's. Synchronous, safe to call twice. */
  dispose(): void {
    this.cancelAtExit();
  }

  private deleteAll(): void {
    for (const ns of [...this.pods.keys(), this.ns]) {
      try {
        runSync(['ip', 'netns', 'del', ns]);
      } catch {
        // already gone
      }
      rmSync(etcDir(ns), { recursive: true, force: true });
    }
    this.pods.clear();
  }
}
