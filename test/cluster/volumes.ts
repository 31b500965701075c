import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type {
  CoreV1Api,
  V1Container,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1Volume,
} from '@kubernetes/client-node';
import { type DataLookup, fieldValue } from './container-spec.js';
import { PodConfigError } from './errors.js';
import { inPrivateRun, type Mount } from './launch.js';

/** What writing a pod's volumes needs. */
export interface VolumeContext {
  pod: V1Pod;
  podIP: string;
  hostIP: string;
  core: CoreV1Api;
  lookup: DataLookup;
  /** The audience of a projected token that names none: the API server's (its issuer). */
  defaultAudience: string;
}

/** Lifetime of a projected token that asks for none, as the API's default. */
const DEFAULT_TOKEN_SECONDS = 3600;
const DEFAULT_FILE_MODE = 0o644;

function unsupported(what: string): PodConfigError {
  return new PodConfigError(
    'CreateContainerConfigError',
    `the skiff test kubelet does not mount ${what}`,
  );
}

/**
 * Writes each of the pod's volumes into a directory of its own under `dir`, as a kubelet
 * populates them: emptyDir (mode 0777, kept across container restarts, removed with the
 * pod), and configMap, secret, downwardAPI and projected volumes (a projected
 * serviceAccountToken from the TokenRequest API, bound to the pod). Returns each volume's
 * directory by name. Files are written once, at pod start: no token refresh, no
 * ConfigMap updates.
 */
export async function writeVolumes(dir: string, ctx: VolumeContext): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const volume of ctx.pod.spec?.volumes ?? []) {
    const path = join(dir, volume.name);
    await mkdir(path, { recursive: true });
    await fill(path, volume, ctx);
    dirs.set(volume.name, path);
  }
  return dirs;
}

async function fill(path: string, volume: V1Volume, ctx: VolumeContext): Promise<void> {
  const namespace = ctx.pod.metadata?.namespace ?? 'default';
  if (volume.emptyDir) {
    // As a kubelet makes it: writable by whichever user the containers run as.
    await chmod(path, 0o777);
    return;
  }
  await chmod(path, 0o755);
  if (volume.configMap) {
    const { name = '', items, defaultMode, optional } = volume.configMap;
    await writeData(
      path,
      await data(ctx, 'ConfigMap', namespace, name, optional),
      items,
      defaultMode,
    );
  } else if (volume.secret) {
    const { secretName = '', items, defaultMode, optional } = volume.secret;
    await writeData(
      path,
      await data(ctx, 'Secret', namespace, secretName, optional),
      items,
      defaultMode,
    );
  } else if (volume.downwardAPI) {
    await writeDownward(path, ctx, volume.downwardAPI.items ?? [], volume.downwardAPI.defaultMode);
  } else if (volume.projected) {
    const mode = volume.projected.defaultMode;
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken) {
        const { audience, expirationSeconds, path: file } = source.serviceAccountToken;
        await writeFileIn(path, file, await token(ctx, audience, expirationSeconds), mode);
      } else if (source.configMap) {
        const { name = '', items, optional } = source.configMap;
        await writeData(path, await data(ctx, 'ConfigMap', namespace, name, optional), items, mode);
      } else if (source.secret) {
        const { name = '', items, optional } = source.secret;
        await writeData(path, await data(ctx, 'Secret', namespace, name, optional), items, mode);
      } else if (source.downwardAPI) {
        await writeDownward(path, ctx, source.downwardAPI.items ?? [], mode);
      } else {
        throw unsupported(
          `projected sources other than serviceAccountToken, configMap, secret and downwardAPI (volume ${volume.name})`,
        );
      }
    }
  } else {
    throw unsupported(
      `volume ${volume.name}: only emptyDir, configMap, secret, downwardAPI and projected`,
    );
  }
}

async function data(
  ctx: VolumeContext,
  kind: 'ConfigMap' | 'Secret',
  namespace: string,
  name: string,
  optional: boolean | undefined,
): Promise<Readonly<Record<string, string>>> {
  const found = await ctx.lookup(kind, namespace, name);
  if (found) return found;
  if (optional) return {};
  throw new PodConfigError('CreateContainerConfigError', `${kind} ${namespace}/${name} not found`);
}

async function writeData(
  dir: string,
  values: Readonly<Record<string, string>>,
  items: readonly V1KeyToPath[] | undefined,
  mode: number | undefined,
): Promise<void> {
  const chosen: readonly V1KeyToPath[] =
    items ?? Object.keys(values).map((key) => ({ key, path: key }));
  for (const item of chosen) {
    const value = values[item.key];
    if (value === undefined)
      throw new PodConfigError('CreateContainerConfigError', `no key ${item.key}`);
    await writeFileIn(dir, item.path, value, item.mode ?? mode);
  }
}

async function writeDownward(
  dir: string,
  ctx: VolumeContext,
  items: readonly V1DownwardAPIVolumeFile[],
  mode: number | undefined,
): Promise<void> {
  for (const item of items) {
    if (!item.fieldRef) throw unsupported('downwardAPI resourceFieldRef files');
    const value = fieldValue(ctx.pod, ctx.podIP, ctx.hostIP, item.fieldRef.fieldPath);
    await writeFileIn(dir, item.path, value, item.mode ?? mode);
  }
}

async function writeFileIn(
  dir: string,
  file: string,
  text: string,
  mode: number | undefined,
): Promise<void> {
  const relative = normalize(file);
  if (relative.startsWith('..') || relative.startsWith('/')) {
    throw new PodConfigError(
      'CreateContainerConfigError',
      `volume file path ${file} leaves its volume`,
    );
  }
  const path = join(dir, relative);
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeFile(path, text, { mode: mode ?? DEFAULT_FILE_MODE });
  await chmod(path, mode ?? DEFAULT_FILE_MODE);
}

/** A token for the pod's ServiceAccount from the TokenRequest API, bound to the pod (it dies with it). */
async function token(
  ctx: VolumeContext,
  audience: string | undefined,
  seconds: number | undefined,
): Promise<string> {
  const { name = '', namespace = 'default', uid } = ctx.pod.metadata ?? {};
  const serviceAccount = ctx.pod.spec?.serviceAccountName ?? 'default';
  const answer = await ctx.core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: {
      spec: {
        audiences: [audience || ctx.defaultAudience],
        expirationSeconds: seconds ?? DEFAULT_TOKEN_SECONDS,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid },
      },
    },
  });
  const issued = answer.status?.token;
  if (!issued)
    throw new Error(`the TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  return issued;
}

/**
 * A container's volumeMounts as bind mounts of the volumes' directories. A mount point
 * under /run (or /var/run) is made in the pod's private /run; anywhere else it must exist
 * on this machine already (the test kubelet has no image filesystem to make it in).
 */
export function containerMounts(
  container: V1Container,
  volumes: ReadonlyMap<string, string>,
): Mount[] {
  return (container.volumeMounts ?? []).map((mount) => {
    const source = volumes.get(mount.name);
    if (source === undefined) {
      throw new PodConfigError(
        'CreateContainerConfigError',
        `volumeMount ${mount.name} names no volume`,
      );
    }
    if (mount.subPath || mount.subPathExpr) throw unsupported('subPath mounts');
    if (!inPrivateRun(mount.mountPath) && !existsSync(mount.mountPath)) {
      throw unsupported(
        `${mount.mountPath}: it does not exist on this machine (mount under /run, /var/run or an existing directory such as /tmp)`,
      );
    }
    return { source, target: mount.mountPath, readOnly: mount.readOnly ?? false };
  });
}
