import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../cluster/cluster.js';
import type { Image } from '../cluster/container-spec.js';
import { atExit } from '../cluster/exit-cleanup.js';
import { inPrivateRun } from '../cluster/launch.js';
import type { PodRunner } from '../cluster/pod-runner.js';
import type { KubectlResult } from '../controlplane/kubectl.js';
import { repoRoot } from '../helpers/cli.js';
import { documentedInstall, KUBE_DIR, type KubeObject, readManifest } from '../helpers/install.js';
import { pollUntil } from '../helpers/wait.js';
import { ok } from './site-namespace.js';

/** The router pod's labels in deploy/kubernetes (its Deployment's selector). */
export const ROUTER_SELECTOR = 'app.kubernetes.io/name=skiff,app.kubernetes.io/component=router';
export const ROUTER_DEPLOYMENT = 'skiff-router';
/** RBAC changes reach the authorizer through its informers: soon, but not at once. */
const RBAC_SETTLES = { timeoutMs: 20_000, intervalMs: 100 };

interface RouterDeployment extends KubeObject {
  spec: {
    template: {
      spec: { containers: { image: string; volumeMounts?: { mountPath: string }[] }[] };
    };
  };
}

/**
 * deploy/Dockerfile's image, for the test kubelet: this checkout's bin/skiff.js as `skiff`
 * on the PATH, run as 65532 from the repository (the image's /app), under the name the
 * install's pods ask for (deploy/'s `images:` tag). make() also provides the mount points
 * the Deployment's volumes need on this machine; dispose() removes what it made.
 */
export class RouterImage {
  private constructor(
    readonly name: string,
    readonly image: Image,
    private readonly removals: (() => void)[],
  ) {}

  static async make(): Promise<RouterImage> {
    const deployment = readManifest<RouterDeployment>('deployment.yaml');
    const container = deployment.spec.template.spec.containers[0]!;
    const kustomization = readManifest<{
      images: { name: string; newName?: string; newTag: string }[];
    }>('kustomization.yaml');
    const tag = kustomization.images.find((i) => i.name === container.image);
    const name = tag ? `${tag.newName ?? tag.name}:${tag.newTag}` : container.image;
    // Each removal also runs at the test process's exit or death, if dispose() did not.
    const removals: (() => void)[] = [];
    try {
      const binDir = await mkdtemp(join(tmpdir(), 'skiff-image-bin-'));
      removals.push(atExit(() => rmSync(binDir, { recursive: true, force: true })));
      await chmod(binDir, 0o755);
      await symlink(join(repoRoot, 'bin', 'skiff.js'), join(binDir, 'skiff'));
      // The test kubelet mounts volumes only where a directory is (or under /run): make the
      // state dir's mount point, empty, as the image's VOLUME would have it; removed only if
      // still empty (rmdir).
      for (const { mountPath } of container.volumeMounts ?? []) {
        if (inPrivateRun(mountPath) || existsSync(mountPath)) continue;
        await mkdir(mountPath);
        removals.push(atExit(() => rmdirSync(mountPath)));
      }
      const path = [binDir, dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'];
      const image: Image = {
        entrypoint: ['skiff'],
        cmd: ['site', 'run', '--init'],
        workingDir: repoRoot,
        env: { PATH: path.join(':'), SKIFF_STATE_DIR: '/var/lib/skiff' },
        user: 65532,
      };
      return new RouterImage(name, image, removals);
    } catch (err) {
      removeAll(removals);
      throw err;
    }
  }

  get images(): Record<string, Image> {
    return { [this.name]: this.image };
  }

  dispose(): void {
    removeAll(this.removals);
  }
}

/** Runs every removal, newest first; one that fails (a mount point in use) leaves the rest to run. */
function removeAll(removals: readonly (() => void)[]): void {
  for (const remove of [...removals].reverse()) {
    try {
      remove();
    } catch {
      // A mount point another test filled meanwhile stays.
    }
  }
}

/** The router pod of an install, as the API server and the test kubelet see it. */
export interface RouterPod {
  name: string;
  ip: string;
  uid: string;
  restartCount: number;
  runner: PodRunner;
}

/** A site installed from deploy/kubernetes by its namespace's admin. */
export interface SiteInstall {
  namespace: string;
  /** The namespace admin (a user whose only right is `admin` in this namespace). */
  user: string;
  kubeconfig: string;
  /** From the start of `kubectl apply -k` to the router pod Ready. */
  readyMs: number;
  /** kubectl as the namespace admin, in this namespace. */
  kubectl(args: readonly string[], input?: string): Promise<KubectlResult>;
  /** The router pod now (waits for one Ready pod: after a restart or a rollout). */
  routerPod(): Promise<RouterPod>;
}

/**
 * Creates `namespace`, makes `user` its admin (a RoleBinding to the built-in `admin`
 * ClusterRole, nothing else), and installs deploy/kubernetes there as that user with the
 * documented command; resolves once the router pod is Ready (its readiness probe, /readyz,
 * run by the test kubelet's prober). The cluster's images must include RouterImage's.
 * `kustomization` is the documented command's directory, or a variant's (INSTALLS).
 */
export async function installSite(
  cluster: Cluster,
  namespace: string,
  user: string,
  kustomization = KUBE_DIR,
): Promise<SiteInstall> {
  ok(await cluster.kubectl(['create', 'namespace', namespace]));
  ok(
    await cluster.kubectl([
      'create',
      'rolebinding',
      `${user}-admin`,
      '--clusterrole=admin',
      `--user=${user}`,
      '-n',
      namespace,
    ]),
  );
  const kubeconfig = await cluster.controlPlane.userKubeconfig(user);
  const kubectl = (args: readonly string[], input?: string) =>
    cluster.kubectl([...args, '-n', namespace], {
      kubeconfig,
      ...(input === undefined ? {} : { input }),
    });
  await pollUntil(
    `${user} to be admin of ${namespace}`,
    async () => (await kubectl(['get', 'roles'])).code === 0,
    RBAC_SETTLES,
  );
  const started = performance.now();
  const install = documentedInstall(namespace).map((w) => (w === KUBE_DIR ? kustomization : w));
  ok(await cluster.kubectl(install, { kubeconfig }));
  const routerPod = () => readyRouterPod(cluster, namespace);
  await routerPod();
  return {
    namespace,
    user,
    kubeconfig,
    readyMs: performance.now() - started,
    kubectl,
    routerPod,
  };
}

/** `kubectl delete -k` of the install, as its admin, without waiting for the pod to go. */
export async function uninstall(install: SiteInstall): Promise<void> {
  ok(await install.kubectl(['delete', '-k', KUBE_DIR, '--wait=false']));
}

function isReady(pod: V1Pod): boolean {
  return (
    pod.metadata?.deletionTimestamp === undefined &&
    pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
}

async function readyRouterPod(cluster: Cluster, namespace: string): Promise<RouterPod> {
  let seen: V1Pod[] = [];
  const pod = await pollUntil(
    `the router pod in ${namespace} to be Ready`,
    async () => {
      const { items } = await cluster.api.core.listNamespacedPod({
        namespace,
        labelSelector: ROUTER_SELECTOR,
      });
      seen = items;
      const ready = items.filter(isReady);
      return ready.length === 1 && ready[0];
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${seen.map((p) => podReport(cluster, p)).join('\n')}`);
  });
  const name = pod.metadata!.name!;
  return {
    name,
    ip: pod.status!.podIP!,
    uid: pod.metadata!.uid!,
    restartCount: pod.status?.containerStatuses?.[0]?.restartCount ?? 0,
    runner: cluster.pod(namespace, name),
  };
}

/** What went wrong with a pod that did not become Ready: its status and its log's end. */
function podReport(cluster: Cluster, pod: V1Pod): string {
  const { namespace = '', name = '' } = pod.metadata ?? {};
  let log = '(no log)';
  try {
    log = readFileSync(cluster.pod(namespace, name).logFile(), 'utf8').slice(-4000);
  } catch {
    // Not started on the node (yet): the status says why.
  }
  return `pod ${namespace}/${name}: ${JSON.stringify(pod.status)}\nlog:\n${log}`;
}
