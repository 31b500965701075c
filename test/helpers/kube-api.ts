/**
 * A stand-in for the Kubernetes API server, enough for ConfigMaps and Secrets: the core/v1
 * wire protocol as the real server speaks it (paths, JSON objects and lists, Status errors,
 * resourceVersion preconditions, RBAC-style 403s) over HTTPS with a bearer token, so tests
 * can run the real @kubernetes/client-node against it.
 *
 * Not modelled: PATCH, deletecollection (405); watch, pagination, field selectors, dry runs
 * and set-based label selectors (400, so a test notices); generateName, finalizers,
 * `immutable` enforcement, delete preconditions, managedFields and Warning headers;
 * namespaces are not objects, so every namespace exists.
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

export type KubeResource = 'configmaps' | 'secrets';
export type KubeVerb = 'get' | 'list' | 'create' | 'update' | 'delete';

/** A ConfigMap or Secret as JSON carries it. */
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
}

export interface KubeApiStandIn {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** The namespace the kubeconfig's context defaults to. */
  readonly namespace: string;
  /** A kubeconfig with one cluster, one token user and the current context 'standin'. */
  readonly kubeconfigPath: string;
  /**
   * Stored objects of a resource in a namespace (default: `namespace`), as GET returns them.
   * Loose JSON, so tests can read fields and send the objects back through client-node.
   */
  // biome-ignore lint/suspicious/noExplicitAny: wire JSON, asserted on and replayed by tests
  objects(resource: KubeResource, namespace?: string): any[];
  /** Makes `verb` on `resource` answer 403 Forbidden, as RBAC would. */
  deny(resource: KubeResource, verb: KubeVerb): void;
  /** Every request seen: method and path with query. */
  readonly requests: { method: string; path: string }[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

const KINDS: Record<KubeResource, string> = { configmaps: 'ConfigMap', secrets: 'Secret' };
const ROUTE = /^\/api\/v1\/namespaces\/([^/]+)\/(configmaps|secrets)(?:\/([^/]+))?$/;
const VERBS: Record<string, KubeVerb> = {
  'GET one': 'get',
  'GET all': 'list',
  'POST all': 'create',
  'PUT one': 'update',
  'DELETE one': 'delete',
};
/** Query parameters that would change the answer in ways not modelled here. */
const UNSUPPORTED_QUERY = ['watch', 'fieldSelector', 'limit', 'continue', 'dryRun'];

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
const notFound = (resource: string, name: string) =>
  new Failure(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
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
function decode(resource: KubeResource, text: string): Decoded {
  const kind = KINDS[resource];
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

/** An equality or existence label selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`, comma = and). */
function parseSelector(selector: string): ((labels: Record<string, string>) => boolean)[] {
  if (selector.trim() === '') return [];
  return selector.split(',').map((raw) => {
    const term = raw.trim();
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
      `unable to parse requirement: ${JSON.stringify(term)} (the stand-in supports =, ==, !=, key and !key)`,
    );
  });
}

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
  private readonly denied = new Set<string>();
  /** etcd's revision: one counter for every write, whatever the object. */
  private revision = 1;

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

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    // client-node keeps connections alive; close() alone would wait for them to idle out.
    this.server.closeAllConnections();
    await closed;
    await rm(dirname(this.kubeconfigPath), { recursive: true, force: true });
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? '', path: req.url ?? '' });
    let code: number;
    let body: object;
    try {
      [code, body] = this.handle(req, await readBody(req));
    } catch (err) {
      const failure =
        err instanceof Failure
          ? err
          : new Failure(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
      code = failure.code;
      body = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: failure.message,
        reason: failure.reason,
        ...(failure.details && { details: failure.details }),
        code,
      };
    }
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /** The checks in the real server's order: authentication, route, authorization, then the verb. */
  private handle(req: IncomingMessage, text: string): [number, object] {
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      throw new Failure(401, 'Unauthorized', 'Unauthorized');
    }
    const url = new URL(req.url ?? '/', this.url);
    const route = ROUTE.exec(url.pathname);
    if (!route) {
      throw new Failure(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    const namespace = decodeURIComponent(route[1]);
    const resource = route[2] as KubeResource;
    const name = route[3] === undefined ? '' : decodeURIComponent(route[3]);
    const verb = VERBS[`${req.method} ${name ? 'one' : 'all'}`];
    if (!verb) {
      const why = 'the server does not allow this method on the requested resource';
      throw new Failure(405, 'MethodNotAllowed', why, {});
    }
    if (this.denied.has(`${resource} ${verb}`)) {
      const user = `system:serviceaccount:${this.namespace}:skiff`;
      const what = name ? `${resource} "${name}"` : resource;
      throw new Failure(
        403,
        'Forbidden',
        `${what} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "" in the namespace "${namespace}"`,
        { ...(name && { name }), kind: resource },
      );
    }
    const unsupported = UNSUPPORTED_QUERY.find((p) => url.searchParams.has(p));
    if (unsupported) throw badRequest(`the stand-in does not support ?${unsupported}`);
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
    const key = `${resource}/${namespace}/${name}`;
    const stored = this.store.get(key);
    switch (verb) {
      case 'get':
        if (!stored) throw notFound(resource, name);
        return [200, this.wire(resource, stored)];
      case 'list': {
        const matches = parseSelector(url.searchParams.get('labelSelector') ?? '');
        const items = this.list(resource, namespace).filter((obj) =>
          matches.every((match) => match(obj.metadata.labels ?? {})),
        );
        const kind = `${KINDS[resource]}List`;
        const metadata = { resourceVersion: String(this.revision) };
        return [200, { kind, apiVersion: 'v1', metadata, items }];
      }
      case 'create': {
        const { obj } = this.decodeFor(resource, namespace, text);
        const causes = validate(obj);
        if (causes.length > 0) throw invalid(KINDS[resource], obj.metadata.name, causes);
        if (this.store.has(`${resource}/${namespace}/${obj.metadata.name}`)) {
          throw alreadyExists(resource, obj.metadata.name);
        }
        return [201, this.wire(resource, this.put(resource, namespace, obj))];
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
        if (causes.length > 0) throw invalid(KINDS[resource], name, causes);
        return [200, this.wire(resource, this.put(resource, namespace, obj, stored))];
      }
      case 'delete':
        if (!stored) throw notFound(resource, name);
        this.store.delete(key);
        this.revision++;
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
    const decoded = decode(resource, text);
    if (decoded.namespace && decoded.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    return decoded;
  }

  /**
   * Stores `obj` with the server's own metadata: a new object when `previous` is absent, else
   * an update keeping uid and creationTimestamp. An
   * update that changes nothing is no write, so it keeps the resourceVersion, as etcd does.
   */
  private put(
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
    return next;
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
    return { kind: KINDS[resource], apiVersion: 'v1', ...structuredClone(obj) };
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
