import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertKey } from '../../src/pki/index.js';
import { pickPort } from '../helpers/ports.js';
import { type ControlPlaneBinaries, cachedBinaries, findGo, needsGoMessage } from './binaries.js';
import { writeKubeconfig } from './kubeconfig.js';
import { type KubectlOptions, type KubectlResult, runKubectl } from './kubectl.js';
import { createClientCert, createControlPlanePki } from './pki.js';
import { ControlPlaneProcess, type HttpTarget, healthy, httpGet } from './process.js';

/** Service ClusterIPs; the first, 10.96.0.1, is the `kubernetes` Service's, as in kubeadm's clusters. */
export const SERVICE_CIDR = '10.96.0.0/16';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
/** The issuer (and audience) of service-account tokens, as a kubeadm cluster names it. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/**
 * The controllers a namespace-scoped install relies on, and nothing that expects kubelets:
 * node-lifecycle would taint the harness's Node. root-ca-certificate-publisher writes the
 * kube-root-ca.crt ConfigMap a kubelet mounts into every pod's service-account volume.
 * clusterrole-aggregation fills the built-in admin, edit and view ClusterRoles (they are
 * aggregated: without it they grant nothing, and a RoleBinding to them is a no-op).
 * Service-account tokens come from the TokenRequest API, so no serviceaccount-token
 * controller (it only fills legacy token Secrets).
 */
export const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  // statefulset/NAME targets (test/kube/targets.test.ts): its pods, named NAME-0, NAME-1, ...
  'statefulset-controller',
  'endpointslice-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
  'clusterrole-aggregation-controller',
] as const;

const START_TIMEOUT_MS = 90_000;
/** Fresh ports are bindable when handed out; another program may still take one first. */
const APISERVER_PORT_ATTEMPTS = 5;

export interface ControlPlaneOptions {
  binaries?: ControlPlaneBinaries;
  /**
   * The API server's bind address (default 127.0.0.1). Everything else is on unix sockets or
   * no socket at all, so moving the control plane into a network namespace changes only this
   * and the words that run each process there (ProcessSpec.wrapper).
   */
  host?: string;
  /**
   * The API server's port. By default a free one on this machine, retried should something
   * take it first; in a network namespace of its own nothing else binds, so a fixed one does.
   */
  port?: number;
  /**
   * Words in front of every control-plane process and every kubectl, each exec-ing the next,
   * e.g. ['ip', 'netns', 'exec', NS] to run them all in a network namespace.
   */
  wrapper?: readonly string[];
  /**
   * Where this process dials the API server when it cannot reach host:port itself (the
   * control plane is in a network namespace): a unix socket bridged to it. Only the health
   * probes use it; kubectl runs through `wrapper`.
   */
  socketPath?: string;
}

/** Why the control-plane tests cannot run here, or undefined if they can (the binaries are built). */
export function controlPlaneUnavailable(): string | undefined {
  if (cachedBinaries()) return undefined;
  const go = findGo();
  const why = 'missing' in go ? go.missing : 'Go is there but the binaries are not built';
  return needsGoMessage(why);
}

/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver (TLS serving certificate,
 * client-certificate admin, RBAC, service-account signing keys) and kube-controller-manager
 * with CONTROLLERS, in a private work directory removed by stop().
 */
export class ControlPlane {
  private stopped = false;

  private constructor(
    readonly binaries: ControlPlaneBinaries,
    /** Holds the PKI, etcd's data and socket, the logs and the kubeconfigs; mode 0700. */
    readonly workDir: string,
    /** The API server's URL, e.g. https://127.0.0.1:23456. */
    readonly server: string,
    readonly ca: CertKey,
    /** A kubeconfig for `kubernetes-admin` (group system:masters, so RBAC never stops it). */
    readonly adminKubeconfig: string,
    private readonly processes: ControlPlaneProcess[],
    /** Words in front of kubectl (ControlPlaneOptions.wrapper). */
    readonly wrapper: readonly string[],
  ) {}

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const binaries = options.binaries ?? cachedBinaries();
    if (!binaries) throw new Error(controlPlaneUnavailable());
    const host = options.host ?? '127.0.0.1';
    const wrapper = options.wrapper ?? [];
    const workDir = await mkdtemp(join(tmpdir(), 'skiff-cp-'));
    const paths = layout(workDir);
    const processes: ControlPlaneProcess[] = [];
    try {
      await Promise.all([paths.pki, paths.logs, paths.kubeconfigs].map((dir) => mkdir(dir)));
      const files = await writePki(paths.pki, host);
      processes.push(await startEtcd(binaries, paths, wrapper));
      const admin = await createClientCert(files.ca, 'kubernetes-admin', ['system:masters']);
      const probe = (port: number): HttpTarget => ({
        host,
        port,
        ...(options.socketPath ? { socketPath: options.socketPath } : {}),
        tls: { ca: files.ca.certPem, cert: admin.certPem, key: admin.keyPem },
      });
      const listen = { host, port: options.port, wrapper };
      const { apiserver, port } = await startApiserver(binaries, files, listen, paths, probe);
      processes.push(apiserver);
      const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
      const adminKubeconfig = await writeKubeconfig(join(paths.kubeconfigs, 'admin.yaml'), {
        name: 'admin',
        server,
        caPem: files.ca.certPem,
        credential: { cert: admin },
      });
      const kcmKubeconfig = await writeKubeconfig(join(paths.kubeconfigs, 'kcm.yaml'), {
        name: 'controller-manager',
        server,
        caPem: files.ca.certPem,
        credential: { cert: await createClientCert(files.ca, 'system:kube-controller-manager') },
      });
      processes.push(
        await startControllerManager(binaries, files, kcmKubeconfig, paths, probe(port), wrapper),
      );
      return new ControlPlane(
        binaries,
        workDir,
        server,
        files.ca,
        adminKubeconfig,
        processes,
        wrapper,
      );
    } catch (err) {
      for (const child of processes.reverse()) await child.stop();
      await rm(workDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Runs kubectl as the admin, or with `kubeconfig` (a user's, from userKubeconfig()). */
  kubectl(
    args: readonly string[],
    options: KubectlOptions & { kubeconfig?: string } = {},
  ): Promise<KubectlResult> {
    return runKubectl(this.binaries.kubectl, options.kubeconfig ?? this.adminKubeconfig, args, {
      wrapper: this.wrapper,
      ...options,
    });
  }

  /**
   * A kubeconfig for a new client certificate of `user` in `groups`: who it is, nothing
   * more; what it may do is up to the RoleBindings the test makes.
   */
  async userKubeconfig(user: string, groups: readonly string[] = []): Promise<string> {
    return writeKubeconfig(this.kubeconfigPath(user), {
      name: user,
      server: this.server,
      caPem: this.ca.certPem,
      credential: { cert: await createClientCert(this.ca, user, groups) },
    });
  }

  /** A kubeconfig presenting a bearer token (e.g. a service account's, from TokenRequest). */
  tokenKubeconfig(name: string, token: string, namespace?: string): Promise<string> {
    return writeKubeconfig(this.kubeconfigPath(name), {
      name,
      server: this.server,
      caPem: this.ca.certPem,
      credential: { token },
      ...(namespace ? { namespace } : {}),
    });
  }

  private kubeconfigPath(name: string): string {
    if (!/^[a-z0-9][a-z0-9.:-]*$/.test(name)) throw new Error(`not a kubeconfig name: ${name}`);
    return join(this.workDir, 'kubeconfigs', `${name.replaceAll(':', '_')}.yaml`);
  }

  /** The processes' pids: etcd, kube-apiserver, kube-controller-manager. */
  get pids(): number[] {
    return this.processes.map((child) => child.pid);
  }

  /** Stops the controller manager, the API server and etcd, in that order, then removes the work directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const child of [...this.processes].reverse()) await child.stop();
    await rm(this.workDir, { recursive: true, force: true });
  }
}

/** Where each part lives in the work directory. */
interface Layout {
  pki: string;
  logs: string;
  kubeconfigs: string;
  etcdData: string;
  etcdSocket: string;
}

function layout(workDir: string): Layout {
  return {
    pki: join(workDir, 'pki'),
    logs: join(workDir, 'logs'),
    kubeconfigs: join(workDir, 'kubeconfigs'),
    etcdData: join(workDir, 'etcd'),
    etcdSocket: join(workDir, 'etcd.sock'),
  };
}

interface PkiFiles {
  ca: CertKey;
  caFile: string;
  certFile: string;
  keyFile: string;
  saKeyFile: string;
  saPublicFile: string;
}

async function writePki(dir: string, host: string): Promise<PkiFiles> {
  const pki = await createControlPlanePki([host, KUBERNETES_SERVICE_IP]);
  const files: PkiFiles = {
    ca: pki.ca,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'apiserver.crt'),
    keyFile: join(dir, 'apiserver.key'),
    saKeyFile: join(dir, 'sa.key'),
    saPublicFile: join(dir, 'sa.pub'),
  };
  const write = (path: string, text: string): Promise<void> =>
    writeFile(path, text, { mode: 0o600 });
  await Promise.all([
    write(files.caFile, pki.ca.certPem),
    write(files.certFile, pki.apiserver.certPem),
    write(files.keyFile, pki.apiserver.keyPem),
    write(files.saKeyFile, pki.serviceAccountKeyPem),
    write(files.saPublicFile, pki.serviceAccountPublicPem),
  ]);
  return files;
}

/**
 * etcd serves its clients on a unix socket in the 0700 work directory: no port to race for,
 * reachable from any network namespace, and only by this user, so it needs no TLS of its own.
 * Its peer listener (a one-member cluster never dials it) takes a port the kernel picks.
 */
async function startEtcd(
  binaries: ControlPlaneBinaries,
  paths: Layout,
  wrapper: readonly string[],
): Promise<ControlPlaneProcess> {
  const socket = paths.etcdSocket;
  const etcd = ControlPlaneProcess.start({
    name: 'etcd',
    command: binaries.etcd,
    args: [
      `--data-dir=${paths.etcdData}`,
      `--listen-client-urls=unix://${socket}`,
      // Required, and a host:port (a socket path is refused); only the member list shows it.
      '--advertise-client-urls=http://127.0.0.1:0',
      '--listen-peer-urls=http://127.0.0.1:0',
      // Test data need not survive a power cut; fsync would only slow every write.
      '--unsafe-no-fsync=true',
    ],
    logFile: join(paths.logs, 'etcd.log'),
    wrapper,
  });
  await etcd.waitUntil('ready', () => healthy({ socketPath: socket }, '/readyz'), START_TIMEOUT_MS);
  return etcd;
}

/** Where the API server listens, and what runs it there. */
interface Listen {
  host: string;
  /** Fixed, or undefined for a free one. */
  port: number | undefined;
  wrapper: readonly string[];
}

/**
 * The `kubernetes` Service's endpoint: a loopback address may not be one (EndpointSlice
 * validation), so on loopback nothing keeps its endpoints; elsewhere the API server
 * advertises its bind address and keeps them itself, as in a real cluster.
 */
function endpointFlags(host: string): string[] {
  if (isLoopback(host)) return ['--endpoint-reconciler-type=none'];
  return [`--advertise-address=${host}`, '--endpoint-reconciler-type=lease'];
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

/**
 * kube-apiserver cannot be told to pick its own port (--secure-port=0 turns HTTPS off), so it
 * gets a free one and, should something take that first, another (it exits on EADDRINUSE).
 */
async function startApiserver(
  binaries: ControlPlaneBinaries,
  files: PkiFiles,
  listen: Listen,
  paths: Layout,
  probe: (port: number) => HttpTarget,
): Promise<{ apiserver: ControlPlaneProcess; port: number }> {
  const { host } = listen;
  for (let attempt = 1; ; attempt++) {
    const port = listen.port ?? (await pickPort());
    const apiserver = ControlPlaneProcess.start({
      name: 'kube-apiserver',
      command: binaries.kubeApiserver,
      args: [
        `--etcd-servers=unix://${paths.etcdSocket}`,
        `--bind-address=${host}`,
        `--secure-port=${port}`,
        // Never used (the serving pair is given) but defaults to /var/run/kubernetes.
        `--cert-dir=${paths.pki}`,
        `--tls-cert-file=${files.certFile}`,
        `--tls-private-key-file=${files.keyFile}`,
        `--client-ca-file=${files.caFile}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${files.saPublicFile}`,
        `--service-account-signing-key-file=${files.saKeyFile}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        ...endpointFlags(host),
      ],
      logFile: join(paths.logs, 'kube-apiserver.log'),
      wrapper: listen.wrapper,
    });
    const target = probe(port);
    try {
      await apiserver.waitUntil('ready', () => healthy(target, '/readyz'), START_TIMEOUT_MS);
      await apiserver.waitUntil('live', () => healthy(target, '/livez'), START_TIMEOUT_MS);
      return { apiserver, port };
    } catch (err) {
      await apiserver.stop();
      const taken = /address already in use/.test(apiserver.logTail(50));
      if (!taken || listen.port !== undefined || attempt === APISERVER_PORT_ATTEMPTS) throw err;
    }
  }
}

/**
 * kube-controller-manager as a real cluster runs it: its own identity
 * (system:kube-controller-manager) and a service account per controller, so RBAC checks
 * each controller. It serves no port (--secure-port=0); it is ready once a controller has
 * acted: the serviceaccount controller made `default` in namespace default, the CA
 * publisher its ConfigMap there, and the aggregation controller filled `admin` (until then
 * a namespace admin is refused everything).
 */
async function startControllerManager(
  binaries: ControlPlaneBinaries,
  files: PkiFiles,
  kubeconfig: string,
  paths: Layout,
  apiserver: HttpTarget,
  wrapper: readonly string[],
): Promise<ControlPlaneProcess> {
  const kcm = ControlPlaneProcess.start({
    name: 'kube-controller-manager',
    command: binaries.kubeControllerManager,
    args: [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0',
      `--controllers=${CONTROLLERS.join(',')}`,
      '--use-service-account-credentials=true',
      `--root-ca-file=${files.caFile}`,
    ],
    logFile: join(paths.logs, 'kube-controller-manager.log'),
    wrapper,
  });
  const exists = (path: string) => () => healthy(apiserver, path);
  try {
    await kcm.waitUntil(
      'running its controllers',
      async () =>
        (await exists('/api/v1/namespaces/default/serviceaccounts/default')()) &&
        (await exists('/api/v1/namespaces/default/configmaps/kube-root-ca.crt')()) &&
        (await aggregated(apiserver, 'admin')),
      START_TIMEOUT_MS,
    );
  } catch (err) {
    await kcm.stop();
    throw err;
  }
  return kcm;
}

/** Whether the aggregation controller has filled the built-in ClusterRole `name`. */
async function aggregated(apiserver: HttpTarget, name: string): Promise<boolean> {
  try {
    const { status, body } = await httpGet(
      apiserver,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`,
    );
    if (status !== 200) return false;
    const rules = (JSON.parse(body) as { rules?: unknown }).rules;
    return Array.isArray(rules) && rules.length > 0;
  } catch {
    return false;
  }
}
