import type { CoreV1Api, V1ConfigMap, V1ObjectMeta, V1Secret } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { apiFailure, kubeError, notFound } from '../kube/errors.js';
import type { OwnWrites } from '../kube/own-writes.js';
import { Owners, SITE_CONFIGMAP } from '../kube/owners.js';
import {
  checkedKey,
  checkedRecord,
  checkPut,
  checkPutKey,
  corrupt,
  keyExists,
  readEach,
} from './checked.js';
import type { RecordTypes } from './schema.js';
import { type RecordKind, StateProblems, type StateStore } from './store.js';

/** Labels on every object the store writes; `list` selects on them. */
export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const KIND_LABEL = 'skiff.dev/kind';
/** The kind label of a Secret holding a private key. */
const KEY_KIND = 'key';
/** The data key of a key Secret. */
const KEY_PEM = 'key.pem';

/** A record's key in its ConfigMap's data, e.g. `connector.yaml`. */
const dataKey = (kind: RecordKind): string => `${kind}.yaml`;

/** Object names: lowercase DNS-1123 subdomains, as the API server requires. */
const namePattern = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface KubeStoreOptions {
  /** Told of every record the store writes or deletes, for the watch (kube/record-watch.ts). */
  ownWrites?: OwnWrites;
  /** Shared with the process's other writers (status, requests); else the store's own. */
  owners?: Owners;
}

/**
 * The kubernetes platform's state, in the site's namespace (decision 0007): a ConfigMap per
 * record (`skiff-site`, `skiff-<kind>-<name>`, the record as YAML under `<kind>.yaml`) and a
 * Secret per private key (`skiff-key-<name>`, PEM under `key.pem`), all labelled
 * `app.kubernetes.io/managed-by: skiff` and `skiff.dev/kind: <kind>`. A record is one
 * object, so each write is atomic; it is durable once the API server has answered.
 * Records written by hand (`kubectl apply`, GitOps) are read the same way. Every object is
 * written with its owner (kube/owners.ts), so deleting the install removes them all.
 */
export class KubeStore implements StateStore {
  readonly problems = new StateProblems();
  readonly owners: Owners;

  constructor(
    private readonly core: CoreV1Api,
    readonly namespace: string,
    private readonly opts: KubeStoreOptions = {},
  ) {
    this.owners = opts.owners ?? new Owners(core, namespace);
  }

  async get<K extends RecordKind>(kind: K, name: string): Promise<RecordTypes[K] | undefined> {
    const objectName = recordName(kind, name);
    const cm = await this.call('get', 'configmaps', objectName, () =>
      this.core.readNamespacedConfigMap({ name: objectName, namespace: this.namespace }),
    );
    if (cm === undefined) {
      this.problems.clear(this.where('configmaps', objectName));
      return undefined;
    }
    return this.decode(kind, name, cm);
  }

  async list<K extends RecordKind>(kind: K): Promise<RecordTypes[K][]> {
    const list = await this.call('list', 'configmaps', undefined, () =>
      this.core.listNamespacedConfigMap({
        namespace: this.namespace,
        labelSelector: `${MANAGED_BY}=skiff,${KIND_LABEL}=${kind}`,
      }),
    );
    const items = [...(list?.items ?? [])].sort((a, b) =>
      (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
    );
    return readEach(items, async (cm) => this.fromObject(kind, cm));
  }

  /**
   * The record a listed or watched ConfigMap of `kind` holds: checked as get() checks it,
   * and named as the store names it (`skiff-<kind>-<name>`, the name matching the record's
   * own field). A bad one is reported in `problems` and refused with STATE_CORRUPT.
   */
  fromObject<K extends RecordKind>(kind: K, cm: V1ConfigMap): RecordTypes[K] {
    const objectName = cm.metadata?.name ?? '';
    const name = recordKey(kind, objectName);
    if (name === undefined) {
      throw corrupt(
        this.problems,
        kind,
        objectName,
        this.where('configmaps', objectName),
        `is labelled ${KIND_LABEL}=${kind} but not named skiff-${kind}-<name>`,
        KUBE_TODO,
      );
    }
    return this.decode(kind, name, cm);
  }

  /** A watched ConfigMap is gone: whatever was wrong with it is no longer a problem. */
  forget(objectName: string): void {
    this.problems.clear(this.where('configmaps', objectName));
  }

  async put<K extends RecordKind>(kind: K, name: string, value: RecordTypes[K]): Promise<void> {
    checkPut(kind, name, value);
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: await this.meta(recordName(kind, name), kind),
      data: { [dataKey(kind)]: stringify(value) },
    };
    const objectName = body.metadata!.name!;
    const written = await this.upsert(
      'configmaps',
      objectName,
      () => this.core.replaceNamespacedConfigMap({ ...this.at(body), body }),
      () => this.core.createNamespacedConfigMap({ namespace: this.namespace, body }),
    );
    this.opts.ownWrites?.wrote(objectName, written?.metadata?.resourceVersion);
    this.problems.clear(this.where('configmaps', objectName));
  }

  async delete(kind: RecordKind, name: string): Promise<boolean> {
    const objectName = recordName(kind, name);
    const deleted = await this.remove('configmaps', objectName, () =>
      this.core.deleteNamespacedConfigMap({ name: objectName, namespace: this.namespace }),
    );
    if (deleted) this.opts.ownWrites?.deleted(objectName);
    return deleted;
  }

  async getSecret(name: string): Promise<string | undefined> {
    const objectName = keyName(name);
    const secret = await this.call('get', 'secrets', objectName, () =>
      this.core.readNamespacedSecret({ name: objectName, namespace: this.namespace }),
    );
    if (secret === undefined) return undefined;
    const where = this.where('secrets', objectName);
    const data = secret.data?.[KEY_PEM];
    if (data === undefined) {
      throw corrupt(this.problems, 'key', name, where, `has no "${KEY_PEM}" key`, KUBE_TODO);
    }
    return checkedKey(
      this.problems,
      name,
      where,
      Buffer.from(data, 'base64').toString('utf8'),
      KUBE_TODO,
    );
  }

  async putSecret(name: string, pem: string, opts: { replace?: boolean } = {}): Promise<void> {
    checkPutKey(name, pem);
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: await this.meta(keyName(name), KEY_KIND),
      data: { [KEY_PEM]: Buffer.from(pem, 'utf8').toString('base64') },
    };
    const objectName = body.metadata!.name!;
    if (opts.replace === true) {
      await this.upsert(
        'secrets',
        objectName,
        () => this.core.replaceNamespacedSecret({ ...this.at(body), body }),
        () => this.core.createNamespacedSecret({ namespace: this.namespace, body }),
      );
    } else {
      // A create only: the API server refuses it (409) if the key exists, atomically.
      try {
        await this.core.createNamespacedSecret({ namespace: this.namespace, body });
      } catch (err) {
        if (kubeError(err)?.code === 409) throw keyExists(name, this.where('secrets', objectName));
        throw this.wrap('create', 'secrets', objectName, err);
      }
    }
    this.problems.clear(this.where('secrets', objectName));
  }

  async hasSecret(name: string): Promise<boolean> {
    const objectName = keyName(name);
    const secret = await this.call('get', 'secrets', objectName, () =>
      this.core.readNamespacedSecret({ name: objectName, namespace: this.namespace }),
    );
    return secret !== undefined;
  }

  locate(kind: RecordKind | 'key', name: string): string {
    return kind === 'key'
      ? this.where('secrets', keyName(name))
      : this.where('configmaps', recordName(kind, name));
  }

  deleteSecret(name: string): Promise<boolean> {
    const objectName = keyName(name);
    return this.remove('secrets', objectName, () =>
      this.core.deleteNamespacedSecret({ name: objectName, namespace: this.namespace }),
    );
  }

  /**
   * Gives a ConfigMap or Secret of skiff's its owner when it lacks one (written before the
   * site existed, by hand, or by an older skiff): a replace at the version read, so a
   * concurrent change wins and is adopted when next seen. Resolves with the version
   * written, undefined when nothing was. Not an own write (OwnWrites): only a caller that
   * has applied the version it read may say so.
   */
  async adopt(
    resource: 'configmaps' | 'secrets',
    obj: V1ConfigMap | V1Secret,
  ): Promise<string | undefined> {
    const metadata = await this.owners.adopting(obj.metadata ?? {});
    if (metadata === undefined) return undefined;
    const name = metadata.name ?? '';
    const at = { name, namespace: this.namespace };
    try {
      const written = await (resource === 'configmaps'
        ? this.core.replaceNamespacedConfigMap({ ...at, body: { ...obj, metadata } })
        : this.core.replaceNamespacedSecret({ ...at, body: { ...obj, metadata } }));
      return written.metadata?.resourceVersion ?? '';
    } catch (err) {
      // Deleted or changed since it was read: nothing to adopt, or adopted when next seen.
      const code = kubeError(err)?.code;
      if (code === 404 || code === 409) return undefined;
      throw this.wrap('update', resource, name, err);
    }
  }

  /** Adopts every ConfigMap and Secret labelled as skiff's; how many were adopted. */
  async adoptAll(): Promise<number> {
    const labelSelector = `${MANAGED_BY}=skiff`;
    const namespace = this.namespace;
    const configmaps = await this.call('list', 'configmaps', undefined, () =>
      this.core.listNamespacedConfigMap({ namespace, labelSelector }),
    );
    const secrets = await this.call('list', 'secrets', undefined, () =>
      this.core.listNamespacedSecret({ namespace, labelSelector }),
    );
    let adopted = 0;
    for (const cm of configmaps?.items ?? []) {
      if ((await this.adopt('configmaps', cm)) !== undefined) adopted++;
    }
    for (const secret of secrets?.items ?? []) {
      if ((await this.adopt('secrets', secret)) !== undefined) adopted++;
    }
    return adopted;
  }

  private async meta(name: string, kind: string): Promise<V1ObjectMeta> {
    const ownerReferences = await this.owners.referencesFor(name);
    return { name, labels: labels(kind), ...(ownerReferences && { ownerReferences }) };
  }

  private at(body: V1ConfigMap | V1Secret): { name: string; namespace: string } {
    return { name: body.metadata!.name!, namespace: this.namespace };
  }

  /**
   * Overwrites or creates: an unconditional replace (last writer wins, as a file rename
   * does), a create when there is nothing to replace, and one more replace if another
   * writer created it in between.
   */
  private async upsert<T extends V1ConfigMap | V1Secret>(
    resource: string,
    name: string,
    replace: () => Promise<T>,
    create: () => Promise<T>,
  ): Promise<T | undefined> {
    const replaced = await this.call('update', resource, name, replace);
    if (replaced !== undefined) return replaced;
    try {
      return await create();
    } catch (err) {
      if (kubeError(err)?.code !== 409) throw this.wrap('create', resource, name, err);
    }
    // Undefined when the other writer's object was deleted again before this replace: as
    // if this write had landed first and been deleted after.
    return this.call('update', resource, name, replace);
  }

  private async remove(
    resource: string,
    name: string,
    del: () => Promise<unknown>,
  ): Promise<boolean> {
    return (await this.call('delete', resource, name, del)) !== undefined;
  }

  /** Runs one API call; a 404 is `undefined`, anything else failing a SkiffError. */
  private async call<R>(
    verb: string,
    resource: string,
    name: string | undefined,
    fn: () => Promise<R>,
  ): Promise<R | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (notFound(err)) return undefined;
      throw this.wrap(verb, resource, name, err);
    }
  }

  private wrap(verb: string, resource: string, name: string | undefined, err: unknown): SkiffError {
    const what = name === undefined ? resource : `${resource} "${name}"`;
    return apiFailure(err, verb, what, this.namespace);
  }

  private decode<K extends RecordKind>(kind: K, key: string, cm: V1ConfigMap): RecordTypes[K] {
    const where = this.where('configmaps', cm.metadata?.name ?? '?');
    const text = cm.data?.[dataKey(kind)];
    if (text === undefined) {
      throw corrupt(this.problems, kind, key, where, `has no "${dataKey(kind)}" key`, KUBE_TODO);
    }
    let value: unknown;
    try {
      value = parse(text);
    } catch (err) {
      throw corrupt(
        this.problems,
        kind,
        key,
        where,
        `holds invalid YAML under "${dataKey(kind)}" (${describe(err)})`,
        KUBE_TODO,
      );
    }
    return checkedRecord(this.problems, kind, key, where, value, KUBE_TODO);
  }

  private where(resource: string, objectName: string): string {
    return `${resource} "${objectName}" in namespace ${this.namespace}`;
  }
}

const KUBE_TODO = 'fix it with kubectl edit or delete it';

/**
 * The record name an object was stored under: its object name less `skiff-<kind>-`, or
 * undefined when it is not named so (get() could never find it).
 */
function recordKey(kind: RecordKind, objectName: string): string | undefined {
  if (kind === 'site') return objectName === SITE_CONFIGMAP ? 'site' : undefined;
  const prefix = `skiff-${kind}-`;
  return objectName.startsWith(prefix) && objectName.length > prefix.length
    ? objectName.slice(prefix.length)
    : undefined;
}

/** The object a record of `kind` named `name` is kept in, e.g. `skiff-connector-api`. */
export function recordObjectName(kind: RecordKind, name: string): string {
  return recordName(kind, name);
}

/** The record name of an object named as the store names them, e.g. `api` for `skiff-connector-api`. */
export function recordNameOf(kind: RecordKind, objectName: string): string | undefined {
  return recordKey(kind, objectName);
}

function labels(kind: string): Record<string, string> {
  return { [MANAGED_BY]: 'skiff', [KIND_LABEL]: kind };
}

function recordName(kind: RecordKind, name: string): string {
  return checked(kind === 'site' ? SITE_CONFIGMAP : `skiff-${kind}-${name}`, name);
}

function keyName(name: string): string {
  return checked(`skiff-key-${name}`, name);
}

function checked(objectName: string, name: string): string {
  if (objectName.length > 253 || !namePattern.test(objectName)) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `"${name}" cannot name a Kubernetes object (lowercase letters, digits, '-' and '.')`,
    );
  }
  return objectName;
}
