/**
 * `site delete` on kubernetes: the site is the namespace's skiff objects (decision 0024).
 * The same rules as locally (decision 0014): refused while its router runs, asked first,
 * only what skiff labelled goes, the site record first (the commit point: a removal cut
 * short leaves no site a router would reopen). Its proxy Services follow by garbage
 * collection (they are owned by the site record). `skiff-settings` is the user's: it stays.
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { ErrorCode, SkiffError } from '../errors.js';
import { connectKube } from '../kube/connect.js';
import { apiFailure, notFound } from '../kube/errors.js';
import { SITE_CONFIGMAP } from '../kube/owners.js';
import { SETTINGS_CONFIGMAP } from '../kube/platform.js';
import { KubeStore, MANAGED_BY } from '../state/kube-store.js';
import { confirm } from './confirm.js';
import type { CliContext } from './context.js';
import { refuseIfRouterRuns } from './router-running.js';

const SELECTOR = `${MANAGED_BY}=skiff`;

export interface KubeSiteDeleted {
  name?: string;
  namespace: string;
  /** Objects in the namespace skiff reads but did not write (skiff-settings). */
  left: string[];
}

export async function deleteKubeSite(ctx: CliContext, yes: boolean): Promise<KubeSiteDeleted> {
  const kube = connectKube({
    ...(ctx.namespace === undefined ? {} : { namespace: ctx.namespace }),
    ...(ctx.kubeContext === undefined ? {} : { context: ctx.kubeContext }),
  });
  const { core, namespace } = kube;
  const list = async <T>(resource: string, call: () => Promise<{ items: T[] }>) => {
    try {
      return (await call()).items;
    } catch (err) {
      throw apiFailure(err, 'list', resource, namespace);
    }
  };
  const configmaps = await list<V1ConfigMap>('configmaps', () =>
    core.listNamespacedConfigMap({ namespace, labelSelector: SELECTOR }),
  );
  const secrets = await list<V1Secret>('secrets', () =>
    core.listNamespacedSecret({ namespace, labelSelector: SELECTOR }),
  );
  if (configmaps.length + secrets.length === 0) {
    throw new SkiffError(
      ErrorCode.NOT_FOUND,
      `no site in namespace ${namespace}; nothing to delete`,
    );
  }
  await refuseIfRouterRuns(
    ctx,
    `in namespace ${namespace}`,
    ` (kubectl delete -n ${namespace} -k deploy/kubernetes removes the install)`,
  );
  const name = siteName(new KubeStore(core, namespace), configmaps);
  const what = name === undefined ? `the site in namespace ${namespace}` : `site ${name}`;
  if (!yes) {
    await confirm(
      `delete ${what} from namespace ${namespace}: its identity, keys and links, for good?`,
      `deleting ${what}`,
    );
  }
  const objects = [
    ...configmaps.map((o) => ({ resource: 'configmaps', name: o.metadata?.name ?? '' })),
    ...secrets.map((o) => ({ resource: 'secrets', name: o.metadata?.name ?? '' })),
  ].sort((x, y) => Number(y.name === SITE_CONFIGMAP) - Number(x.name === SITE_CONFIGMAP));
  for (const object of objects) {
    try {
      await (object.resource === 'configmaps'
        ? core.deleteNamespacedConfigMap({ name: object.name, namespace })
        : core.deleteNamespacedSecret({ name: object.name, namespace }));
    } catch (err) {
      if (!notFound(err)) {
        throw apiFailure(err, 'delete', `${object.resource} "${object.name}"`, namespace);
      }
    }
  }
  const left: string[] = [];
  try {
    await core.readNamespacedConfigMap({ name: SETTINGS_CONFIGMAP, namespace });
    left.push(`configmaps/${SETTINGS_CONFIGMAP}`);
  } catch (err) {
    if (!notFound(err))
      throw apiFailure(err, 'get', `configmaps "${SETTINGS_CONFIGMAP}"`, namespace);
  }
  return { ...(name === undefined ? {} : { name }), namespace, left };
}

/** A damaged record still goes: the name is only for the question and the result. */
function siteName(store: KubeStore, configmaps: V1ConfigMap[]): string | undefined {
  const cm = configmaps.find((c) => c.metadata?.name === SITE_CONFIGMAP);
  try {
    return cm === undefined ? undefined : store.fromObject('site', cm).name;
  } catch {
    return undefined;
  }
}
