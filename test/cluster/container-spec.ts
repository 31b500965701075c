import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { PodConfigError } from './errors.js';

/**
 * What the test maps an image name to, in place of pulling it: a local command. As an
 * image's config does, it gives an entrypoint, default arguments, a working directory,
 * environment and the user it runs as.
 */
export interface Image {
  /** ENTRYPOINT: what runs when the container gives no `command`, e.g. ['node', 'bin/skiff.js']. */
  entrypoint: readonly string[];
  /** CMD: the arguments when the container gives neither `command` nor `args`. */
  cmd?: readonly string[];
  /** WORKDIR, when the container gives no workingDir (default: the test process's). */
  workingDir?: string;
  env?: Readonly<Record<string, string>>;
  /** USER, as a uid (default 0, root, as most images). */
  user?: number;
}

/** Image names (as in a pod's `image:`) to what runs for them. */
export type Images = Readonly<Record<string, Image>>;

export function imageFor(images: Images, container: V1Container): Image {
  const image = container.image === undefined ? undefined : images[container.image];
  if (!image) {
    throw new PodConfigError(
      'ErrImageNeverPull',
      `the skiff test kubelet pulls no images, and the test mapped none to "${container.image}"`,
    );
  }
  return image;
}

/**
 * `$(NAME)` replaced by a variable's value where it is defined (left as written where it
 * is not), `$$` by `$`: Kubernetes' expansion of command, args and env values.
 */
export function expand(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name?: string) => {
    if (name === undefined) return '$';
    return Object.hasOwn(vars, name) ? vars[name]! : whole;
  });
}

/** The command line: `command` replaces the entrypoint (and drops CMD), `args` replaces CMD. */
export function commandLine(
  image: Image,
  container: V1Container,
  env: Readonly<Record<string, string>>,
): string[] {
  const words = container.command?.length
    ? [...container.command, ...(container.args ?? [])]
    : [...image.entrypoint, ...(container.args ?? image.cmd ?? [])];
  return words.map((word) => expand(word, env));
}

/** What a downward-API fieldRef can name, with the values it has for this pod now. */
export function fieldValue(pod: V1Pod, podIP: string, hostIP: string, path: string): string {
  const meta = pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return hostIP;
    default:
      throw new PodConfigError('CreateContainerConfigError', `unsupported fieldRef ${path}`);
  }
}

/** Reads a ConfigMap's or Secret's data (a Secret's decoded), undefined if there is none. */
export type DataLookup = (
  kind: 'ConfigMap' | 'Secret',
  namespace: string,
  name: string,
) => Promise<Readonly<Record<string, string>> | undefined>;

/**
 * The container's environment as a kubelet builds it: the image's, then the service
 * variables (`base`), then envFrom, then env, each value expanded against what came before.
 * valueFrom takes fieldRef, configMapKeyRef and secretKeyRef.
 */
export async function containerEnv(
  pod: V1Pod,
  container: V1Container,
  image: Image,
  base: Readonly<Record<string, string>>,
  ips: { podIP: string; hostIP: string },
  lookup: DataLookup,
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = { ...image.env, ...base };
  const missing = (what: string): PodConfigError =>
    new PodConfigError('CreateContainerConfigError', `${what} not found in namespace ${namespace}`);
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
    if (!ref?.name) continue;
    const data = await lookup(kind, namespace, ref.name);
    if (!data && !ref.optional) throw missing(`${kind} ${ref.name}`);
    for (const [key, value] of Object.entries(data ?? {}))
      env[`${from.prefix ?? ''}${key}`] = value;
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      env[variable.name] = expand(variable.value ?? '', env);
    } else if (from.fieldRef) {
      env[variable.name] = fieldValue(pod, ips.podIP, ips.hostIP, from.fieldRef.fieldPath);
    } else if (from.configMapKeyRef || from.secretKeyRef) {
      const ref = (from.configMapKeyRef ?? from.secretKeyRef)!;
      const kind = from.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const value = (await lookup(kind, namespace, ref.name ?? ''))?.[ref.key];
      if (value !== undefined) env[variable.name] = value;
      else if (!ref.optional) throw missing(`key ${ref.key} of ${kind} ${ref.name}`);
    } else {
      throw new PodConfigError(
        'CreateContainerConfigError',
        `env ${variable.name}: the skiff test kubelet takes fieldRef, configMapKeyRef and secretKeyRef only`,
      );
    }
  }
  return env;
}

/** Who the container's process runs as. */
export interface RunAs {
  uid: number;
  gid: number;
  groups: number[];
  /** allowPrivilegeEscalation: false. */
  noNewPrivs: boolean;
  /** capabilities.drop includes ALL. */
  dropAllCapabilities: boolean;
}

/**
 * The pod's and container's securityContext merged (the container's wins), as a kubelet
 * resolves them; runAsNonRoot refuses a container that would run as uid 0, with the
 * kubelet's message.
 */
export function runAs(pod: V1Pod, container: V1Container, image: Image): RunAs {
  const podContext = pod.spec?.securityContext ?? {};
  const own = container.securityContext ?? {};
  const uid = own.runAsUser ?? podContext.runAsUser ?? image.user ?? 0;
  const nonRoot = own.runAsNonRoot ?? podContext.runAsNonRoot ?? false;
  if (nonRoot && uid === 0) {
    throw new PodConfigError(
      'CreateContainerConfigError',
      'container has runAsNonRoot and image will run as root',
    );
  }
  const groups = [...(podContext.supplementalGroups ?? [])];
  if (podContext.fsGroup !== undefined) groups.push(podContext.fsGroup);
  return {
    uid,
    gid: own.runAsGroup ?? podContext.runAsGroup ?? 0,
    groups,
    noNewPrivs: own.allowPrivilegeEscalation === false,
    dropAllCapabilities: own.capabilities?.drop?.includes('ALL') ?? false,
  };
}
