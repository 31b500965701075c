/**
 * Admin calls only the router can make, carried through the namespace (decision 0024): the
 * ones that use the site's keys (a token is signed with the CA key, a link's key is made in
 * the pod and never leaves it) or end what runs (a link's credential revoked). The CLI
 * writes a request Secret; the router runs it through the same AdminApi method the admin
 * socket calls, and replaces the Secret with the answer (the request, a token among it,
 * gone); the CLI reads the answer and deletes the Secret. Secrets, not ConfigMaps: a
 * redeem request holds a token, a token request's answer holds one.
 */
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { ErrorCode, SkiffError } from '../errors.js';
import { KIND_LABEL, MANAGED_BY } from '../state/kube-store.js';

export const REQUEST_KIND = 'request';
/** Set on an answered request: it leaves the router's selection, and the sweep finds it. */
export const ANSWERED_LABEL = 'skiff.dev/answered';
/** When the answer was written (ISO), for the sweep of answers nobody collected. */
export const ANSWERED_AT = 'skiff.dev/answered-at';
export const REQUEST_KEY = 'request.json';
export const ANSWER_KEY = 'answer.json';
/** What the router follows: requests not answered yet. */
export const PENDING_SELECTOR = `${MANAGED_BY}=skiff,${KIND_LABEL}=${REQUEST_KIND},!${ANSWERED_LABEL}`;
export const ANSWERED_SELECTOR = `${MANAGED_BY}=skiff,${KIND_LABEL}=${REQUEST_KIND},${ANSWERED_LABEL}`;
/** A request is a token and a few names; an answer a token or a link's info. */
export const MAX_DOCUMENT_BYTES = 64 * 1024;

/** The admin methods a request may name (the gRPC method names of proto/admin.proto). */
export const REQUEST_OPS = [
  'CreateToken',
  'RevokeToken',
  'CreateLink',
  'UpdateLink',
  'DeleteLink',
] as const;
export type RequestOp = (typeof REQUEST_OPS)[number];

export interface AdminRequest {
  op: RequestOp;
  args: Record<string, unknown>;
}

export type Answer =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: ErrorCode; message: string } };

const knownCodes = new Set<string>(Object.values(ErrorCode));

export function requestSecret(
  name: string,
  req: AdminRequest,
  ownerReferences?: V1OwnerReference[],
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      labels: { [MANAGED_BY]: 'skiff', [KIND_LABEL]: REQUEST_KIND },
      ...(ownerReferences && { ownerReferences }),
    },
    data: { [REQUEST_KEY]: encode(req) },
  };
}

/** The request replaced by its answer: the same object, answered, the request's data gone. */
export function answeredSecret(request: V1Secret, answer: Answer, now: Date): V1Secret {
  const meta = request.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: meta.name,
      labels: { ...meta.labels, [ANSWERED_LABEL]: 'true' },
      annotations: { ...meta.annotations, [ANSWERED_AT]: now.toISOString() },
      ...(meta.ownerReferences && { ownerReferences: meta.ownerReferences }),
    },
    data: { [ANSWER_KEY]: encode(answer) },
  };
}

/** The request a Secret holds, or what is wrong with it (the router answers that). */
export function readRequest(secret: V1Secret): AdminRequest {
  const doc = decode(secret.data?.[REQUEST_KEY], REQUEST_KEY);
  const op = doc.op;
  if (typeof op !== 'string' || !(REQUEST_OPS as readonly string[]).includes(op)) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `the request's op must be one of ${REQUEST_OPS.join(', ')}`,
    );
  }
  const args = doc.args;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, "the request's args must be an object");
  }
  return { op: op as RequestOp, args: args as Record<string, unknown> };
}

/** The answer a Secret holds; undefined while it has none. */
export function readAnswer(secret: V1Secret): Answer | undefined {
  if (secret.metadata?.labels?.[ANSWERED_LABEL] === undefined) return undefined;
  const doc = decode(secret.data?.[ANSWER_KEY], ANSWER_KEY);
  if (doc.ok === true) return { ok: true, value: doc.value };
  const error = (doc.error ?? {}) as { code?: unknown; message?: unknown };
  const code =
    typeof error.code === 'string' && knownCodes.has(error.code)
      ? (error.code as ErrorCode)
      : ErrorCode.INTERNAL;
  const message = typeof error.message === 'string' ? error.message : 'the router failed';
  return { ok: false, error: { code, message } };
}

function encode(doc: object): string {
  return Buffer.from(JSON.stringify(doc), 'utf8').toString('base64');
}

function decode(data: string | undefined, key: string): Record<string, unknown> {
  const broken = (why: string) =>
    new SkiffError(ErrorCode.INVALID_ARGUMENT, `the request Secret's "${key}" ${why}`);
  if (data === undefined) throw broken('is missing');
  if (data.length > (MAX_DOCUMENT_BYTES * 4) / 3 + 4) throw broken('is too large');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    throw broken('is not JSON');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw broken('is no object');
  return doc as Record<string, unknown>;
}
