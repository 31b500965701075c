import { ApiException } from '@kubernetes/client-node';
import { describe, ErrorCode, SkiffError } from '../errors.js';

/**
 * The router's identity in the namespace, as deploy/kubernetes/base names it (a test
 * checks they agree): its calls run as this ServiceAccount, bound to this Role.
 */
export const ROUTER_SERVICE_ACCOUNT = 'skiff-router';
export const ROUTER_ROLE = 'skiff-router';
/** Where the Role is defined, for messages that say what to change. */
export const ROLE_MANIFEST = 'deploy/kubernetes/base/role.yaml';

/** What the API server said when it refused a call: the HTTP status and its Status message. */
export interface KubeStatus {
  code: number;
  message: string;
}

/**
 * The status of a failed call, or undefined when the server was not reached at all.
 * client-node throws ApiException with the response body as text: a `Status` object in
 * JSON from a real API server, nothing at all for a 401. A watch (Watch, informers) fails
 * with a plain Error carrying only `statusCode`.
 */
export function kubeError(err: unknown): KubeStatus | undefined {
  if (!(err instanceof ApiException)) {
    const code = (err as { statusCode?: unknown } | null)?.statusCode;
    return typeof code === 'number' ? { code, message: `HTTP ${code}` } : undefined;
  }
  const code = err.code;
  let message = code === 401 ? 'Unauthorized: the credentials were refused' : `HTTP ${code}`;
  if (typeof err.body === 'string' && err.body !== '') {
    try {
      const status = JSON.parse(err.body) as { message?: unknown };
      if (typeof status.message === 'string') message = status.message;
    } catch {
      message = err.body.slice(0, 200);
    }
  }
  return { code, message };
}

export function notFound(err: unknown): boolean {
  return kubeError(err)?.code === 404;
}

/** What RBAC refused, as the API server's Forbidden message states it. */
export interface Refusal {
  /** e.g. `system:serviceaccount:team-a:skiff-router` or `alice`. */
  user: string;
  verb: string;
  /** With its subresource, e.g. `pods/exec`. */
  resource: string;
  /** "" for the core group. */
  group: string;
}

// The RBAC authorizer's words (k8s.io/apiserver's forbidden message): `User "U" cannot V
// resource "R" in API group "G" in the namespace "N"` (or `at the cluster scope`).
const REFUSAL = /User "([^"]+)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)"/;

export function parseRefusal(message: string): Refusal | undefined {
  const m = REFUSAL.exec(message);
  if (!m) return undefined;
  return { user: m[1]!, verb: m[2]!, resource: m[3]!, group: m[4]! };
}

/**
 * The SkiffError for a failed call to `verb` `what` (e.g. `secrets "skiff-key-ca"`,
 * `deployments.apps "api"`): a 403 is FORBIDDEN and says which rule is missing and where to
 * add it, anything else (unreachable, refused credentials, a server error)
 * PLATFORM_UNAVAILABLE.
 */
export function apiFailure(
  err: unknown,
  verb: string,
  what: string,
  namespace: string,
): SkiffError {
  const status = kubeError(err);
  if (status?.code === 403) {
    return new SkiffError(
      ErrorCode.FORBIDDEN,
      `the Kubernetes API refused to ${verb} ${what} in namespace ${namespace}: ${status.message}; ${forbiddenHint(status.message, verb, what, namespace)}`,
      { cause: err },
    );
  }
  const detail = status ? `${status.code} ${status.message}` : describe(err);
  return new SkiffError(
    ErrorCode.PLATFORM_UNAVAILABLE,
    `cannot ${verb} ${what} in namespace ${namespace}: ${detail}`,
    { cause: err },
  );
}

/**
 * What to do about a refusal: the rule to add to the router's Role when the router was
 * refused, or the right a person lacks. The server's message names who was refused; a
 * watch's refusal carries none, so the rule then comes from the call itself.
 */
function forbiddenHint(message: string, verb: string, what: string, namespace: string): string {
  const refusal = parseRefusal(message);
  const rule = refusal ?? { verb, ...resourceOf(what) };
  const ruleText = `{apiGroups: ["${rule.group}"], resources: [${rule.resource}], verbs: [${rule.verb}]}`;
  const toRole = `add ${ruleText} to Role ${ROUTER_ROLE} in namespace ${namespace} (${ROLE_MANIFEST}) and apply it again`;
  if (refusal === undefined) return `if the router was refused, ${toRole}`;
  if (refusal.user === `system:serviceaccount:${namespace}:${ROUTER_SERVICE_ACCOUNT}`) {
    return toRole;
  }
  return `${refusal.user} needs verb "${rule.verb}" on "${rule.resource}" in API group "${rule.group}" in namespace ${namespace}: ask a namespace admin for a RoleBinding that grants it (the built-in edit or admin ClusterRole does)`;
}

/** `deployments.apps "api"` -> deployments in group apps; `configmaps` -> the core group. */
function resourceOf(what: string): { resource: string; group: string } {
  const word = what.split(' ', 1)[0] ?? what;
  const dot = word.indexOf('.');
  return dot < 0
    ? { resource: word, group: '' }
    : { resource: word.slice(0, dot), group: word.slice(dot + 1) };
}
