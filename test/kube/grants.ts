import type { Grant } from '../helpers/install.js';

/**
 * Each (API group, resource, verb) a Role can grant, as one real request: the kubectl
 * words that make it, so a test can run it with the router's token and read the API
 * server's own answer. Resources the router only reads are addressed by `fixtures` (objects
 * that exist); those it writes are created, read, updated and deleted by the requests
 * themselves, in VERB_ORDER.
 */

/** The API path of each group the Role names; a new group in the Role needs a line here. */
const GROUP_PATHS: Readonly<Record<string, string>> = {
  '': '/api/v1',
  apps: '/apis/apps/v1',
  'discovery.k8s.io': '/apis/discovery.k8s.io/v1',
};

/** An object of each resource the router writes, as its create and update send it. */
const BODIES: Readonly<Record<string, (name: string, generation: number) => object>> = {
  configmaps: (name, generation) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name },
    data: { generation: String(generation) },
  }),
  secrets: (name, generation) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    type: 'Opaque',
    stringData: { generation: String(generation) },
  }),
  services: (name, generation) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: { generation: String(generation) } },
    spec: { ports: [{ port: 80 }] },
  }),
};

/** The order that lets a write's requests work on what the one before made. */
export const VERB_ORDER = ['create', 'get', 'list', 'watch', 'update', 'delete'] as const;

export interface Request {
  grant: Grant;
  args: string[];
  input?: string;
}

export function collectionPath(group: string, resource: string, namespace: string): string {
  const base = GROUP_PATHS[group];
  if (base === undefined)
    throw new Error(`no API path for group "${group}": add it to GROUP_PATHS`);
  return `${base}/namespaces/${namespace}/${resource}`;
}

/**
 * The request for `grant` in `namespace` on the object `name` (for get, update, delete).
 * A watch asks the server to end it after a second, so an allowed one returns.
 */
export function requestFor(grant: Grant, namespace: string, name: string): Request {
  const collection = collectionPath(grant.group, grant.resource, namespace);
  const body = (generation: number): string => {
    const make = BODIES[grant.resource];
    if (make === undefined) throw new Error(`no body for ${grant.resource}: add it to BODIES`);
    return JSON.stringify(make(name, generation));
  };
  switch (grant.verb) {
    case 'get':
      return { grant, args: ['get', '--raw', `${collection}/${name}`] };
    case 'list':
      return { grant, args: ['get', '--raw', collection] };
    case 'watch':
      return { grant, args: ['get', '--raw', `${collection}?watch=1&timeoutSeconds=1`] };
    case 'create':
      return { grant, args: ['create', '--raw', collection, '-f', '-'], input: body(1) };
    case 'update':
      return {
        grant,
        args: ['replace', '--raw', `${collection}/${name}`, '-f', '-'],
        input: body(2),
      };
    case 'delete':
      return { grant, args: ['delete', '--raw', `${collection}/${name}`] };
    default:
      throw new Error(`no request for verb ${grant.verb}: add it to requestFor`);
  }
}

/** Whether the router may write `resource` (the Role grants create on it). */
export function writable(resource: string): boolean {
  return resource in BODIES;
}

/** The API server's words when RBAC refuses `user` the grant in `namespace`. */
export function forbiddenText(user: string, grant: Grant, namespace?: string): string {
  const where =
    namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
  return `User "${user}" cannot ${grant.verb} resource "${grant.resource}" in API group "${grant.group}" ${where}`;
}
