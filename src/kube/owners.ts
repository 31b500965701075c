import type { CoreV1Api, V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { apiFailure, notFound } from './errors.js';

/**
 * Who owns what skiff writes in a namespace (decision 0026), so that the garbage collector
 * removes it all when the install goes: the install's ConfigMap `skiff-install` (part of
 * deploy/kubernetes) owns the site record `skiff-site`, and the site record owns every
 * other object skiff writes (records, keys, status, requests, proxy Services). Deleting the
 * install removes the site; deleting the site record removes the site and keeps the install.
 */
export const INSTALL_CONFIGMAP = 'skiff-install';
/** The site record's object: the site is its state, everything else hangs off it. */
export const SITE_CONFIGMAP = 'skiff-site';

/** A ConfigMap that owns objects: its name and uid. */
export interface Owner {
  name: string;
  uid: string;
}

/**
 * The ownerReference to a ConfigMap. No blockOwnerDeletion: it would need `update` on the
 * owner's finalizers (decision 0019), and nothing needs to outlive its owner's deletion.
 */
export function ownerReference(owner: Owner): V1OwnerReference {
  return { apiVersion: 'v1', kind: 'ConfigMap', name: owner.name, uid: owner.uid };
}

/** The ConfigMap that owns the object named `objectName`. */
function ownerName(objectName: string): string {
  return objectName === SITE_CONFIGMAP ? INSTALL_CONFIGMAP : SITE_CONFIGMAP;
}

/**
 * The owners in one namespace, looked up when first needed and remembered once found (an
 * owner that does not exist yet, such as the site before the router's first start, is
 * looked up again next time; an object written meanwhile is adopted later, see `adopting`).
 */
export class Owners {
  private readonly found = new Map<string, Owner>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string,
  ) {}

  /** The ownerReferences to write `objectName` with: none while its owner does not exist. */
  async referencesFor(objectName: string): Promise<V1OwnerReference[] | undefined> {
    const owner = await this.find(ownerName(objectName));
    return owner === undefined ? undefined : [ownerReference(owner)];
  }

  /**
   * `meta` with its owner added, or undefined when it has it already or its owner does not
   * exist: how objects written before their owner existed, or by hand, get one.
   */
  async adopting(meta: V1ObjectMeta): Promise<V1ObjectMeta | undefined> {
    const name = meta.name ?? '';
    if (name === INSTALL_CONFIGMAP) return undefined;
    const owner = await this.find(ownerName(name));
    const refs = meta.ownerReferences ?? [];
    if (owner === undefined || refs.some((ref) => ref.uid === owner.uid)) return undefined;
    return { ...meta, ownerReferences: [...refs, ownerReference(owner)] };
  }

  /** The owner ConfigMap `name` (the install's or the site's), undefined while it does not exist. */
  async find(name: string): Promise<Owner | undefined> {
    const known = this.found.get(name);
    if (known !== undefined) return known;
    let uid: string | undefined;
    try {
      uid = (await this.core.readNamespacedConfigMap({ name, namespace: this.namespace })).metadata
        ?.uid;
    } catch (err) {
      if (notFound(err)) return undefined;
      throw apiFailure(err, 'get', `configmaps "${name}"`, this.namespace);
    }
    if (uid === undefined) return undefined;
    const owner = { name, uid };
    this.found.set(name, owner);
    return owner;
  }
}
