import assert from 'node:assert/strict';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ControlPlane } from '../controlplane/controlplane.js';
import type { KubectlResult } from '../controlplane/kubectl.js';
import { pollUntil } from '../helpers/wait.js';

/** The router's ServiceAccount and Role, named as deploy/kubernetes names them. */
export const ROUTER_ACCOUNT = 'skiff-router';

export interface RoleRule {
  /** The API group; default the core group. */
  group?: string;
  resources: string[];
  verbs: string[];
}

/**
 * What the router calls in its namespace, and nothing more (found by these tests: each
 * verb is used; see decisions 0020, 0022, 0023 and 0024): records in ConfigMaps, which it
 * lists and watches, and rewrites status into; keys in Secrets, read, created, replaced and
 * deleted one by one, and the CLI's request Secrets, listed, watched, answered (update) and
 * swept; Services, all followed (a name clash is someone else's Service), its proxy Services
 * created, replaced and deleted; and what a workload or selector target follows, listed and
 * watched.
 */
export const ROUTER_RULES: readonly RoleRule[] = [
  { resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] },
  { resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] },
  { resources: ['services'], verbs: ['list', 'watch', 'create', 'update', 'delete'] },
  { resources: ['pods'], verbs: ['list', 'watch'] },
  { group: 'apps', resources: ['deployments', 'statefulsets'], verbs: ['list', 'watch'] },
  { group: 'discovery.k8s.io', resources: ['endpointslices'], verbs: ['list', 'watch'] },
];

/** ROUTER_RULES with `verb` taken off `resource`. */
export function rulesWithout(resource: string, verb: string): RoleRule[] {
  return ROUTER_RULES.map((rule) =>
    rule.resources.includes(resource)
      ? { ...rule, verbs: rule.verbs.filter((v) => v !== verb) }
      : rule,
  );
}

export function ok(result: KubectlResult): string {
  assert.equal(result.code, 0, `${result.command} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** A namespace for one site, with the router's ServiceAccount, Role and RoleBinding. */
export interface SiteNamespace {
  name: string;
  /** A kubeconfig presenting the ServiceAccount's token (TokenRequest), namespace set. */
  kubeconfig: string;
  /** The API as the router's ServiceAccount (its Role decides what it may do). */
  core: CoreV1Api;
  /** kubectl as the cluster admin, in this namespace. */
  kubectl(args: readonly string[], input?: string): Promise<KubectlResult>;
  /** Deletes the namespace (and so everything in it), without waiting for it to go. */
  delete(): Promise<void>;
}

/**
 * Creates namespace `name` with the router's identity: ServiceAccount skiff-router bound to
 * a Role with `rules`, and a token for it from the TokenRequest API, as a kubelet would
 * mount it. Resolves once the RBAC authorizer lets that token act (its informer lags the
 * RoleBinding by a moment).
 */
export async function siteNamespace(
  cp: ControlPlane,
  name: string,
  rules: readonly RoleRule[] = ROUTER_RULES,
): Promise<SiteNamespace> {
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: ROUTER_ACCOUNT, namespace: name },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: ROUTER_ACCOUNT, namespace: name },
      rules: rules.map((r) => ({
        apiGroups: [r.group ?? ''],
        resources: r.resources,
        verbs: r.verbs,
      })),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: ROUTER_ACCOUNT, namespace: name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ROUTER_ACCOUNT },
      subjects: [{ kind: 'ServiceAccount', name: ROUTER_ACCOUNT, namespace: name }],
    },
  ];
  ok(
    await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
    }),
  );
  const token = ok(
    await cp.kubectl(['create', 'token', ROUTER_ACCOUNT, '-n', name, '--duration=2h']),
  ).trim();
  const kubeconfig = await cp.tokenKubeconfig(`router-${name}`, token, name);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const probe = rules.find((r) => r.verbs.length > 0);
  if (probe) await authorized(core, name, probe);
  return {
    name,
    kubeconfig,
    core,
    kubectl: (args, input) =>
      cp.kubectl([...args, '-n', name], input === undefined ? {} : { input }),
    delete: async () => {
      await cp.kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
    },
  };
}

/** Waits until a call the Role allows stops being refused (the authorizer has the binding). */
async function authorized(core: CoreV1Api, namespace: string, rule: RoleRule): Promise<void> {
  const verb = rule.verbs[0]!;
  const resource = rule.resources[0]!;
  await pollUntil(
    `the RBAC authorizer to let ${ROUTER_ACCOUNT} ${verb} ${resource} in ${namespace}`,
    async () => {
      try {
        if (resource === 'configmaps') {
          await core.readNamespacedConfigMap({ name: 'skiff-probe', namespace });
        } else {
          await core.readNamespacedSecret({ name: 'skiff-probe', namespace });
        }
        return true;
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code === 404) return true;
        if (code === 403) return false;
        throw err;
      }
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}
