/**
 * A stand-in for the Kubernetes API server, enough for ConfigMaps, Secrets, Pods and
 * Deployments: the wire protocol as the real server speaks it (paths, JSON objects and lists,
 * Status errors, resourceVersion preconditions, RBAC-style 403s, watches as chunked JSON
 * lines) over HTTPS with a bearer token, so tests can run the real @kubernetes/client-node,
 * its Watch and informers included, against it.
 *
 * Pods and Deployments are read-only through the API (as for a Role granting get, list and
 * watch): tests make them with put() and remove(), and no controller touches them.
 *
 * Not modelled: PATCH, deletecollection (405); continuing a list cut by `limit` (the first
 * page is served, with its continue token), field selectors, dry runs,
 * watching one object, resourceVersionMatch and sendInitialEvents
 * (400, so a test notices); lists at a resourceVersion (a list is always current); watch
 * bookmarks (allowed, never sent) and the server's default watch timeout (a watch lasts
 * until timeoutSeconds, if given); generateName, finalizers, `immutable` enforcement, delete
 * preconditions, managedFields and Warning headers; namespaces are not objects, so every
 * namespace exists.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { createCa, createServerCert } from '../../src/pki/index.js';

export type KubeResource = 'configmaps' | 'secrets' | 'pods' | 'deployments';
export type KubeVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'delete';

/** Loose wire JSON, so tests can read fields and send objects back through client-node. */
// biome-ignore lint/suspicious/noExplicitAny: wire JSON, asserted on and replayed by tests
export type WireObject = any;

/**
 * Changes kept per resource for watches to resume from; a watch from before them gets 410
 * Expired. The real watch cache's default size.
 */
export const WATCH_LOG_SIZE = 100;

/** An object as the server stores it (without kind and apiVersion, as list items). */
interface KubeObject {
  kind?: string;
  apiVersion?: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  type?: string;
  immutable?: boolean;
  spec?: Json;
  status?: Json;
}

export interface KubeApiStandIn {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** The namespace the kubeconfig's context defaults to. */
  readonly namespace: string;
  /** A kubeconfig with one cluster, one token user and the current context 'standin'. */
  readonly kubeconfigPath: string;
  /** Stored objects of a resource in a namespace (default: `namespace`), as GET returns them. */
  objects(resource: KubeResource, namespace?: string): WireObject[];
  /** Makes `verb` on `resource` answer 403 Forbidden, as RBAC would. */
  deny(resource: KubeResource, verb: KubeVerb): void;
  /** Undoes deny(). */
  allow(resource: KubeResource, verb: KubeVerb): void;
  /**
   * Makes `verb` on `resource` fail with `code` (e.g. 500 InternalError, 503), as a real
   * server does only when something is broken: what no test can make it do on demand.
   */
  failWith(resource: KubeResource, verb: KubeVerb, code: number, message: string): void;
  /**
   * Creates or replaces an object as the server would (its own metadata, a new
   * resourceVersion unless nothing changed), telling watches ADDED or MODIFIED. The way to
   * make Pods and Deployments, which the API refuses to write. Returns it as GET would.
   */
  put(resource: KubeResource, obj: WireObject, namespace?: string): WireObject;
  /** Deletes an object, telling watches DELETED. */
  remove(resource: KubeResource, name: string, namespace?: string): void;
  /** A running Pod for put(), with a Ready condition and, given `ip`, a pod IP. */
  pod(
    name: string,
    labels: Record<string, string>,
    opts: { ip?: string; ready: boolean },
  ): WireObject;
  /** A Deployment for put() selecting, and templating, pods with `matchLabels`. */
  deployment(name: string, matchLabels: Record<string, string>, replicas?: number): WireObject;
  /** Ends every open watch from the server's side, as a restarting server would. */
  dropWatches(): void;
  /** Every request seen: method and path with query. */
  readonly requests: { method: string; path: string }[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

/** Each resource's Kind and API group ('' is the core group). */
const RESOURCES: Record<KubeResource, { kind: string; group: string }> = {
  configmaps: { kind: 'ConfigMap', group: '' },
  secrets: { kind: 'Secret', group: '' },
  pods: { kind: 'Pod', group: '' },
  deployments: { kind: 'Deployment', group: 'apps' },
};
const apiVersion = (resource: KubeResource) =>
  RESOURCES[resource].group ? `${RESOURCES[resource].group}/v1` : 'v1';
/** The resource as errors name it: `deployments.apps`, `pods`. */
const qualified = (resource: KubeResource) =>
  RESOURCES[resource].group ? `${resource}.${RESOURCES[resource].group}` : resource;
/** Status details name the group only outside the core group. */
const detailsFor = (resource: KubeResource, name: string) => ({
  ...(name && { name }),
  ...(RESOURCES[resource].group && { group: RESOURCES[resource].group }),
  kind: resource,
});
/** /api/v1/... or /apis/GROUP/v1/..., then namespaces/NS/RESOURCE[/NAME]. */
const ROUTE = /^\/(?:api|apis\/([^/]+))\/v1\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/;
const VERBS: Record<string, KubeVerb> = {
  'GET one': 'get',
  'GET all': 'list',
  'POST all': 'create',
  'PUT one': 'update',
  'DELETE one': 'delete',
};
/** Query parameters that would change the answer in ways not modelled here. */
const UNSUPPORTED_QUERY = [
  'fieldSelector',
  'continue',
  'dryRun',
  'resourceVersionMatch',
  'sendInitialEvents',
];
/** The stand-in's Role grants only get, list and watch on these. */
const READ_ONLY: KubeResource[] = ['pods', 'deployments'];

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A request the server refuses; answered as a Status object. */
class Failure extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Json,
  ) {
    super(message);
  }
}

const badRequest = (message: string) => new Failure(400, 'BadRequest', message);
const notFound = (resource: KubeResource, name: string) =>
  new Failure(
    404,
    'NotFound',
    `${qualified(resource)} "${name}" not found`,
    detailsFor(resource, name),
  );
const alreadyExists = (resource: string, name: string) =>
  new Failure(409, 'AlreadyExists', `${resource} "${name}" already exists`, {
    name,
    kind: resource,
  });
/** A resourceVersion precondition that no longer holds. */
const conflict = (resource: string, name: string) =>
  new Failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, kind: resource },
  );

interface Cause {
  reason: string;
  message: string;
  field: string;
}

/** 422 as the real validation reports it; details.kind is the Kind here, not the resource. */
function invalid(kind: string, name: string, causes: Cause[]): Failure {
  const each = causes.map((c) => `${c.field}: ${c.message}`);
  const list = each.length === 1 ? each[0] : `[${each.join(', ')}]`;
  return new Failure(422, 'Invalid', `${kind} "${name}" is invalid: ${list}`, {
    ...(name && { name }),
    kind,
    causes,
  });
}

const invalidValue = (field: string, value: string, why: string): Cause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
  field,
});

function nameErrors(name: string): string[] {
  const errors: string[] = [];
  if (name.length > 253) errors.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(name)) {
    errors.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return errors;
}

function keyErrors(key: string): string[] {
  const errors: string[] = [];
  if (key.length > 253) errors.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(key)) {
    errors.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  }
  if (key === '.') errors.push("must not be '.'");
  else if (key === '..') errors.push("must not be '..'");
  else if (key.startsWith('..')) errors.push("must not start with '..'");
  return errors;
}

function validate(obj: KubeObject): Cause[] {
  const { name } = obj.metadata;
  const causes: Cause[] = name
    ? nameErrors(name).map((why) => invalidValue('metadata.name', name, why))
    : [
        {
          reason: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
          field: 'metadata.name',
        },
      ];
  for (const field of ['data', 'binaryData'] as const) {
    for (const key of Object.keys(obj[field] ?? {})) {
      causes.push(...keyErrors(key).map((why) => invalidValue(`${field}[${key}]`, key, why)));
    }
  }
  return causes;
}

/**
 * Where Go's base64.StdEncoding (how []byte fields decode) rejects `s`, or -1. The offset
 * matches Go's for a stray character or a short final quantum, the usual mistakes.
 */
function base64ErrorAt(s: string): number {
  const stripped = s.replace(/[\r\n]/g, '');
  if (BASE64.test(stripped)) return -1;
  const stray = s.search(/[^A-Za-z0-9+/\r\n]/);
  return stray >= 0 ? stray : s.length - (stripped.length % 4);
}

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
/** A JSON value's type as Go's decoding errors name it. */
const jsonType = (v: unknown) =>
  Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : v === null ? 'null' : typeof v;

/** What Go's omitempty leaves out of JSON: absent, null, empty strings, maps and lists. */
function omitEmpty<T extends Json>(o: T): T {
  const empty = (v: unknown) =>
    v === undefined ||
    v === null ||
    v === '' ||
    (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0);
  return Object.fromEntries(Object.entries(o).filter(([, v]) => !empty(v))) as T;
}

/** A create or update body as the server decodes it, before it sets its own metadata. */
interface Decoded {
  obj: KubeObject;
  namespace?: string;
  resourceVersion?: string;
}

/**
 * Decodes a body as the server does: kind and apiVersion must match (or be absent), fields
 * must have their Go types, []byte fields must be base64, unknown fields are dropped and a
 * Secret's stringData is folded into data.
 */
function decode(resource: 'configmaps' | 'secrets', text: string): Decoded {
  const { kind } = RESOURCES[resource];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; json parse error: ${(err as Error).message}`,
    );
  }
  if (!isObject(body)) {
    throw badRequest(`the object provided is unrecognized (must be of type ${kind})`);
  }
  const sentKind = body.kind || kind;
  const sentVersion = body.apiVersion || 'v1';
  if (sentKind !== kind || sentVersion !== 'v1') {
    throw badRequest(`${sentKind} in version "${sentVersion}" cannot be handled as a ${kind}`);
  }
  const undecodable = (why: string) =>
    badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: ${why}`);
  const cannot = (v: unknown, path: string, goType: string) =>
    undecodable(
      `json: cannot unmarshal ${jsonType(v)} into Go struct field ${path} of type ${goType}`,
    );
  const field = <T>(from: Json, path: string, ok: (v: unknown) => v is T, goType: string) => {
    const v = from[path.slice(path.lastIndexOf('.') + 1)];
    if (v === undefined || v === null) return undefined;
    if (ok(v)) return v;
    throw cannot(v, path, goType);
  };
  const strings = (from: Json, path: string, valueType = 'string') => {
    const map = field(from, path, isObject, `map[string]${valueType}`) ?? {};
    const odd = Object.values(map).find((v) => !isString(v));
    if (odd !== undefined) throw cannot(odd, path, valueType);
    return map as Record<string, string>;
  };
  const meta = field(body, `${kind}.metadata`, isObject, 'v1.ObjectMeta') ?? {};
  const bytes = (path: string) => {
    const map = strings(body, path, '[]uint8');
    for (const value of Object.values(map)) {
      const at = base64ErrorAt(value);
      if (at >= 0) throw undecodable(`illegal base64 data at input byte ${at}`);
    }
    return map;
  };
  const common = {
    metadata: {
      name: field(meta, 'ObjectMeta.name', isString, 'string') ?? '',
      labels: strings(meta, 'ObjectMeta.labels'),
      annotations: strings(meta, 'ObjectMeta.annotations'),
      ownerReferences: field(
        meta,
        'ObjectMeta.ownerReferences',
        Array.isArray,
        '[]v1.OwnerReference',
      ),
    },
    immutable: field(body, `${kind}.immutable`, isBoolean, 'bool'),
  };
  const obj =
    resource === 'configmaps'
      ? {
          ...common,
          data: strings(body, 'ConfigMap.data'),
          binaryData: bytes('ConfigMap.binaryData'),
        }
      : {
          ...common,
          data: {
            ...bytes('Secret.data'),
            ...Object.fromEntries(
              Object.entries(strings(body, 'Secret.stringData')).map(([k, v]) => [
                k,
                Buffer.from(v).toString('base64'),
              ]),
            ),
          },
          type: field(body, 'Secret.type', isString, 'v1.SecretType') || 'Opaque',
        };
  return {
    obj: obj as KubeObject,
    namespace: field(meta, 'ObjectMeta.namespace', isString, 'string'),
    resourceVersion: field(meta, 'ObjectMeta.resourceVersion', isString, 'string'),
  };
}

type Selector = (labels: Record<string, string>) => boolean;

/** An equality or existence label selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`, comma = and). */
function parseSelector(selector: string): Selector {
  if (selector.trim() === '') return () => true;
  // Commas separate terms, except inside a set: `kind in (a,b)`.
  const terms = selector.split(/,(?![^(]*\))/).map((raw): Selector => {
    const term = raw.trim();
    const set = /^([^\s=!]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set) {
      const [, key, op, list] = set;
      const values = new Set(list.split(',').map((v) => v.trim()));
      return op === 'in'
        ? (l) => key in l && values.has(l[key])
        : (l) => !(key in l && values.has(l[key]));
    }
    const eq = /^([^\s=!]+)\s*(==|=|!=)\s*([^\s=!,]*)$/.exec(term);
    if (eq) {
      const [, key, op, value] = eq;
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    const exists = /^(!?)\s*([^\s=!]+)$/.exec(term);
    if (exists) {
      const [, not, key] = exists;
      return (l) => key in l !== (not === '!');
    }
    throw badRequest(
      `unable to parse requirement: ${JSON.stringify(term)} (the stand-in supports =, ==, !=, in, notin, key and !key)`,
    );
  });
  return (labels) => terms.every((term) => term(labels));
}

/** A query parameter the server reads as an unsigned integer; absent or empty is undefined. */
function uintParam(url: URL, name: string): number | undefined {
  const text = url.searchParams.get(name);
  if (!text) return undefined;
  if (!/^\d+$/.test(text)) throw badRequest(`${name}: invalid value ${JSON.stringify(text)}`);
  return Number(text);
}

/** One write, as the watch log keeps it. */
interface Change {
  revision: number;
  namespace: string;
  /** The object after the write; absent for a delete. */
  object?: KubeObject;
  /** The object before the write; absent for a create. */
  previous?: KubeObject;
}

/**
 * What a watch with `matches` is told of a change, as the real server's cache watcher
 * decides it: an object entering the selector is ADDED, one leaving it (or deleted) is
 * DELETED with its last matching content at the change's resourceVersion.
 */
function eventFor(change: Change, matches: Selector): [string, KubeObject] | undefined {
  const passes = (obj?: KubeObject) => obj !== undefined && matches(obj.metadata.labels ?? {});
  const [now, before] = [passes(change.object), passes(change.previous)];
  if (now) return [before ? 'MODIFIED' : 'ADDED', change.object!];
  if (!before) return undefined;
  const { metadata, ...fields } = change.previous!;
  return [
    'DELETED',
    { ...fields, metadata: { ...metadata, resourceVersion: String(change.revision) } },
  ];
}

/** An open watch connection. */
interface Watcher {
  resource: KubeResource;
  notify(change: Change): void;
  /** Ends the response from the server's side. */
  end(): void;
}

/** What a request gets: a status code and JSON body, or a stream written as it goes. */
type Answer = [number, object] | ((res: ServerResponse) => void);

/** A Failure as the Status object the server sends for it. */
const statusOf = (failure: Failure) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: failure.message,
  reason: failure.reason,
  ...(failure.details && { details: failure.details }),
  code: failure.code,
});

/** RFC 3339 in whole seconds, as metav1.Time marshals. */
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

class StandIn implements KubeApiStandIn {
  readonly requests: { method: string; path: string }[] = [];
  /** By `${resource}/${namespace}/${name}`, without kind and apiVersion, as list items. */
  private readonly store = new Map<string, KubeObject>();
  private readonly denied = new Set<string>(
    READ_ONLY.flatMap((r) => ['create', 'update', 'delete'].map((verb) => `${r} ${verb}`)),
  );
  /** etcd's revision: one counter for every write, whatever the object. */
  private revision = 1;
  /** Per resource, the last WATCH_LOG_SIZE changes and the newest revision dropped. */
  private readonly logs = Object.fromEntries(
    Object.keys(RESOURCES).map((r) => [r, { changes: [] as Change[], expired: 0 }]),
  ) as Record<KubeResource, { changes: Change[]; expired: number }>;
  private readonly watchers = new Set<Watcher>();
  /** Injected failures (failWith), by `${resource} ${verb}`. */
  private readonly failures = new Map<string, Failure>();

  constructor(
    readonly url: string,
    readonly namespace: string,
    readonly kubeconfigPath: string,
    private readonly token: string,
    private readonly server: Server,
  ) {}

  objects(resource: KubeResource, namespace = this.namespace): KubeObject[] {
    return this.list(resource, namespace).map((obj) => this.wire(resource, obj));
  }

  deny(resource: KubeResource, verb: KubeVerb): void {
    this.denied.add(`${resource} ${verb}`);
  }

  allow(resource: KubeResource, verb: KubeVerb): void {
    this.denied.delete(`${resource} ${verb}`);
  }

  failWith(resource: KubeResource, verb: KubeVerb, code: number, message: string): void {
    this.failures.set(`${resource} ${verb}`, new Failure(code, 'InternalError', message));
  }

  put(resource: KubeResource, obj: WireObject, namespace = this.namespace): KubeObject {
    const { kind, apiVersion: _, ...fields } = obj;
    if (kind !== undefined && kind !== RESOURCES[resource].kind) {
      throw badRequest(`put('${resource}') was given a ${kind}`);
    }
    const candidate = { ...fields, metadata: { ...fields.metadata } } as KubeObject;
    if (candidate.metadata.namespace && candidate.metadata.namespace !== namespace) {
      throw badRequest(`put() was given an object of namespace ${candidate.metadata.namespace}`);
    }
    const causes = validate(candidate);
    if (causes.length > 0) throw invalid(RESOURCES[resource].kind, candidate.metadata.name, causes);
    const previous = this.store.get(`${resource}/${namespace}/${candidate.metadata.name}`);
    return this.wire(resource, this.write(resource, namespace, candidate, previous));
  }

  remove(resource: KubeResource, name: string, namespace = this.namespace): void {
    const stored = this.store.get(`${resource}/${namespace}/${name}`);
    if (!stored) throw notFound(resource, name);
    this.erase(resource, stored);
  }

  pod(
    name: string,
    labels: Record<string, string>,
    { ip, ready }: { ip?: string; ready: boolean },
  ): WireObject {
    return {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name, labels },
      spec: { containers: [{ name: 'app', image: 'app:test' }] },
      status: omitEmpty({
        phase: ip ? 'Running' : 'Pending',
        podIP: ip,
        podIPs: ip ? [{ ip }] : [],
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      }),
    };
  }

  deployment(name: string, matchLabels: Record<string, string>, replicas = 1): WireObject {
    return {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { name, labels: matchLabels },
      spec: {
        replicas,
        selector: { matchLabels },
        template: {
          metadata: { labels: matchLabels },
          spec: { containers: [{ name: 'app', image: 'app:test' }] },
        },
      },
    };
  }

  dropWatches(): void {
    for (const watcher of this.watchers) watcher.end();
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    // Watches end cleanly, as on a real server's shutdown, before their connections go.
    this.dropWatches();
    // client-node keeps connections alive; close() alone would wait for them to idle out.
    this.server.closeAllConnections();
    await closed;
    await rm(dirname(this.kubeconfigPath), { recursive: true, force: true });
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? '', path: req.url ?? '' });
    let answer: Answer;
    try {
      answer = this.handle(req, await readBody(req));
    } catch (err) {
      const failure =
        err instanceof Failure
          ? err
          : new Failure(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
      answer = [failure.code, statusOf(failure)];
    }
    if (typeof answer === 'function') return answer(res);
    const [code, body] = answer;
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /** The checks in the real server's order: authentication, route, authorization, then the verb. */
  private handle(req: IncomingMessage, text: string): Answer {
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      throw new Failure(401, 'Unauthorized', 'Unauthorized');
    }
    const url = new URL(req.url ?? '/', this.url);
    const route = ROUTE.exec(url.pathname);
    const resource = route?.[3] as KubeResource;
    if (
      !route ||
      !Object.hasOwn(RESOURCES, resource) ||
      RESOURCES[resource].group !== (route[1] ?? '')
    ) {
      throw new Failure(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    const namespace = decodeURIComponent(route[2]);
    const name = route[4] === undefined ? '' : decodeURIComponent(route[4]);
    // As the server converts a bool parameter: present and not 0 or false (any case) is true.
    const watch = url.searchParams.get('watch');
    const watching = watch !== null && !/^(0|false)$/i.test(watch);
    const method = VERBS[`${req.method} ${name ? 'one' : 'all'}`];
    if (!method) {
      const why = 'the server does not allow this method on the requested resource';
      throw new Failure(405, 'MethodNotAllowed', why, {});
    }
    const verb = watching && method === 'list' ? 'watch' : method;
    if (this.denied.has(`${resource} ${verb}`)) {
      const user = `system:serviceaccount:${this.namespace}:skiff`;
      const what = name ? `${qualified(resource)} "${name}"` : qualified(resource);
      throw new Failure(
        403,
        'Forbidden',
        `${what} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${RESOURCES[resource].group}" in the namespace "${namespace}"`,
        detailsFor(resource, name),
      );
    }
    const injected = this.failures.get(`${resource} ${verb}`);
    if (injected) throw injected;
    const unsupported = UNSUPPORTED_QUERY.find((p) => url.searchParams.has(p));
    if (unsupported) throw badRequest(`the stand-in does not support ?${unsupported}`);
    if (watching && verb === 'get') {
      throw badRequest('the stand-in does not support ?watch on one object');
    }
    if (verb === 'create' || verb === 'update') {
      const type = req.headers['content-type']?.split(';')[0].trim();
      if (type !== 'application/json') {
        throw new Failure(
          415,
          'UnsupportedMediaType',
          'the body of the request was in an unknown format - accepted media types include: application/json',
        );
      }
    }
    const { kind } = RESOURCES[resource];
    const stored = this.store.get(`${resource}/${namespace}/${name}`);
    switch (verb) {
      case 'get':
        if (!stored) throw notFound(resource, name);
        return [200, this.wire(resource, stored)];
      case 'list': {
        const matches = parseSelector(url.searchParams.get('labelSelector') ?? '');
        const all = this.list(resource, namespace).filter((obj) =>
          matches(obj.metadata.labels ?? {}),
        );
        const limit = Number(url.searchParams.get('limit') ?? 0);
        const items = limit > 0 ? all.slice(0, limit) : all;
        const metadata = {
          resourceVersion: String(this.revision),
          ...(items.length < all.length && {
            continue: `page-2-of-${this.revision}`,
            remainingItemCount: all.length - items.length,
          }),
        };
        return [200, { kind: `${kind}List`, apiVersion: apiVersion(resource), metadata, items }];
      }
      case 'watch':
        return this.watch(resource, namespace, url);
      case 'create': {
        const { obj } = this.decodeFor(resource, namespace, text);
        const causes = validate(obj);
        if (causes.length > 0) throw invalid(kind, obj.metadata.name, causes);
        if (this.store.has(`${resource}/${namespace}/${obj.metadata.name}`)) {
          throw alreadyExists(resource, obj.metadata.name);
        }
        return [201, this.wire(resource, this.write(resource, namespace, obj))];
      }
      case 'update': {
        const { obj, resourceVersion } = this.decodeFor(resource, namespace, text);
        if (obj.metadata.name !== name) {
          throw badRequest(
            `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
          );
        }
        if (!stored) throw notFound(resource, name);
        if (resourceVersion && resourceVersion !== stored.metadata.resourceVersion) {
          throw conflict(resource, name);
        }
        const causes = validate(obj);
        if (causes.length > 0) throw invalid(kind, name, causes);
        return [200, this.wire(resource, this.write(resource, namespace, obj, stored))];
      }
      case 'delete':
        if (!stored) throw notFound(resource, name);
        this.erase(resource, stored);
        return [
          200,
          {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name, kind: resource, uid: stored.metadata.uid },
          },
        ];
    }
  }

  private decodeFor(resource: KubeResource, namespace: string, text: string): Decoded {
    // Writes reach here only for ConfigMaps and Secrets: the others were refused as forbidden.
    const decoded = decode(resource as 'configmaps' | 'secrets', text);
    if (decoded.namespace && decoded.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    return decoded;
  }

  /**
   * Serves a watch as the real server's watch cache does: a 200 with one JSON event per
   * line. From resourceVersion N it replays the logged changes after N, or sends an ERROR
   * (410 Expired) and ends if changes after N were dropped; without one (or from 0) it
   * sends every matching object as ADDED first. Then it follows writes until the client
   * goes, timeoutSeconds pass, or the stand-in ends it.
   */
  private watch(resource: KubeResource, namespace: string, url: URL): Answer {
    const matches = parseSelector(url.searchParams.get('labelSelector') ?? '');
    const from = uintParam(url, 'resourceVersion');
    const timeout = uintParam(url, 'timeoutSeconds');
    return (res) => {
      res
        .writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
        .flushHeaders();
      const send = (type: string, object: object) =>
        res.write(`${JSON.stringify({ type, object })}\n`);
      const log = this.logs[resource];
      if (from && from < log.expired) {
        const message = `too old resource version: ${from} (${log.expired})`;
        send('ERROR', statusOf(new Failure(410, 'Expired', message)));
        res.end();
        return;
      }
      const notify = (change: Change) => {
        const event = change.namespace === namespace && eventFor(change, matches);
        if (event) send(event[0], this.wire(resource, event[1]));
      };
      if (from) {
        for (const change of log.changes) if (change.revision > from) notify(change);
      } else {
        for (const obj of this.list(resource, namespace)) {
          if (matches(obj.metadata.labels ?? {})) send('ADDED', this.wire(resource, obj));
        }
      }
      const forget = () => {
        this.watchers.delete(watcher);
        clearTimeout(timer);
      };
      const watcher: Watcher = {
        resource,
        notify,
        end: () => {
          forget();
          res.end();
        },
      };
      this.watchers.add(watcher);
      const timer = timeout ? setTimeout(watcher.end, timeout * 1000) : undefined;
      res.on('close', forget);
    };
  }

  /**
   * Stores `obj` with the server's own metadata: a new object when `previous` is absent, else
   * an update keeping uid and creationTimestamp. An
   * update that changes nothing is no write, so it keeps the resourceVersion, as etcd does.
   */
  private write(
    resource: KubeResource,
    namespace: string,
    obj: KubeObject,
    previous?: KubeObject,
  ): KubeObject {
    const key = `${resource}/${namespace}/${obj.metadata.name}`;
    const { metadata, ...fields } = obj;
    const build = (resourceVersion: string) =>
      omitEmpty({
        metadata: omitEmpty({
          name: metadata.name,
          namespace,
          uid: previous?.metadata.uid ?? randomUUID(),
          resourceVersion,
          creationTimestamp: previous?.metadata.creationTimestamp ?? now(),
          labels: metadata.labels,
          annotations: metadata.annotations,
          ownerReferences: metadata.ownerReferences,
        }),
        ...fields,
      }) as KubeObject;
    if (previous && isDeepStrictEqual(build(previous.metadata.resourceVersion), previous)) {
      return previous;
    }
    const next = build(String(++this.revision));
    this.store.set(key, next);
    this.record(resource, { revision: this.revision, namespace, object: next, previous });
    return next;
  }

  private erase(resource: KubeResource, stored: KubeObject): void {
    const { name, namespace } = stored.metadata;
    this.store.delete(`${resource}/${namespace}/${name}`);
    this.record(resource, { revision: ++this.revision, namespace, previous: stored });
  }

  /** Logs a change for later watches and tells the open ones. */
  private record(resource: KubeResource, change: Change): void {
    const log = this.logs[resource];
    log.changes.push(change);
    if (log.changes.length > WATCH_LOG_SIZE) log.expired = log.changes.shift()!.revision;
    for (const watcher of this.watchers) if (watcher.resource === resource) watcher.notify(change);
  }

  /** A namespace's objects of a resource, sorted by name as the real server lists them. */
  private list(resource: KubeResource, namespace: string): KubeObject[] {
    const prefix = `${resource}/${namespace}/`;
    return [...this.store.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([, obj]) => structuredClone(obj))
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  }

  private wire(resource: KubeResource, obj: KubeObject): KubeObject {
    const { kind } = RESOURCES[resource];
    return { kind, apiVersion: apiVersion(resource), ...structuredClone(obj) };
  }
}

/** Starts a stand-in on an ephemeral port of 127.0.0.1 with a fresh CA, token and kubeconfig. */
export async function startKubeApiStandIn(
  opts: { namespace?: string } = {},
): Promise<KubeApiStandIn> {
  const namespace = opts.namespace ?? 'skiff-test';
  const ca = await createCa('kube-api-standin-ca');
  const tls = await createServerCert(ca, { commonName: 'kube-apiserver', hosts: ['127.0.0.1'] });
  const token = randomBytes(24).toString('base64url');
  let standIn: StandIn | undefined;
  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    void standIn!.serve(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = await mkdtemp(join(tmpdir(), 'kube-api-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'standin',
        cluster: {
          server: url,
          'certificate-authority-data': Buffer.from(ca.certPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'standin', user: { token } }],
    contexts: [{ name: 'standin', context: { cluster: 'standin', user: 'standin', namespace } }],
    'current-context': 'standin',
  };
  await writeFile(kubeconfigPath, stringify(kubeconfig), { mode: 0o600 });
  standIn = new StandIn(url, namespace, kubeconfigPath, token, server);
  return standIn;
}
