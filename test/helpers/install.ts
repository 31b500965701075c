import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { repoRoot } from './cli.js';

/**
 * The Kubernetes install in deploy/kubernetes as tests see it: its kustomizations, the
 * router's Role, and the Role as deploy/README.md documents it.
 */

export const KUBE_DIR = join(repoRoot, 'deploy', 'kubernetes');
export const BASE_DIR = join(KUBE_DIR, 'base');
export const DEPLOY_README = join(repoRoot, 'deploy', 'README.md');

/** Every kustomization a user applies: the default install and each variant. */
export const INSTALLS: readonly { name: string; dir: string }[] = [
  { name: 'default (ClusterIP)', dir: KUBE_DIR },
  { name: 'loadbalancer', dir: join(KUBE_DIR, 'variants', 'loadbalancer') },
  { name: 'nodeport', dir: join(KUBE_DIR, 'variants', 'nodeport') },
  { name: 'ingress-passthrough', dir: join(KUBE_DIR, 'variants', 'ingress-passthrough') },
];

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The objects of a multi-document YAML text (`kubectl kustomize` output, a manifest). */
export function yamlObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

export function readManifest<T = KubeObject>(file: string): T {
  return parse(readFileSync(join(BASE_DIR, file), 'utf8')) as T;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export interface RoleObject extends KubeObject {
  rules: PolicyRule[];
}

/** base/role.yaml: the one place the router's rights are written down. */
export function routerRole(): RoleObject {
  return readManifest<RoleObject>('role.yaml');
}

/** One (API group, resource, verb) a rule grants. */
export interface Grant {
  group: string;
  resource: string;
  verb: string;
}

export function grantsOf(rule: PolicyRule): Grant[] {
  return rule.apiGroups.flatMap((group) =>
    rule.resources.flatMap((resource) => rule.verbs.map((verb) => ({ group, resource, verb }))),
  );
}

/** The marker above the table in deploy/README.md. */
export const RULES_MARKER = '<!-- role-rules: base/role.yaml -->';

/**
 * The rules as the table under RULES_MARKER in deploy/README.md states them, in its
 * order: one row per rule, `| API group | resources | verbs | why |`, the core group
 * written `core`, lists comma-separated.
 */
export function documentedRules(readme = readFileSync(DEPLOY_README, 'utf8')): PolicyRule[] {
  const at = readme.indexOf(RULES_MARKER);
  if (at < 0) throw new Error(`${DEPLOY_README} has no ${RULES_MARKER}`);
  const lines = readme.slice(at + RULES_MARKER.length).split('\n');
  const rows: PolicyRule[] = [];
  const table = lines.slice(lines.findIndex((l) => l.startsWith('|')));
  for (const line of table.slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim().replaceAll('`', ''));
    const list = (cell: string | undefined) => (cell ?? '').split(',').map((s) => s.trim());
    rows.push({
      apiGroups: list(cells[0]).map((g) => (g === 'core' ? '' : g)),
      resources: list(cells[1]),
      verbs: list(cells[2]),
    });
  }
  return rows;
}

/** The install command deploy/README.md documents, as kubectl's words (after `kubectl`). */
export const DOCUMENTED_INSTALL = 'kubectl apply -n NAMESPACE -k deploy/kubernetes';

/**
 * The documented install command (deploy/README.md) for `namespace`, its path absolute;
 * throws if the README no longer documents it.
 */
export function documentedInstall(namespace: string, readme = DEPLOY_README): string[] {
  const lines = readFileSync(readme, 'utf8').split('\n');
  if (!lines.includes(DOCUMENTED_INSTALL)) {
    throw new Error(`${readme} documents no "${DOCUMENTED_INSTALL}"`);
  }
  return DOCUMENTED_INSTALL.split(' ')
    .slice(1)
    .map((word) =>
      word === 'NAMESPACE' ? namespace : word === 'deploy/kubernetes' ? KUBE_DIR : word,
    );
}
