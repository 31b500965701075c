import { ApiException } from '@kubernetes/client-node';
import { describe, ErrorCode, SkiffError } from '../errors.js';

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

/**
 * The SkiffError for a failed call to `verb` `what` (e.g. `secrets "skiff-key-ca"`): a 403
 * is FORBIDDEN and points at the Role, anything else (unreachable, refused credentials, a
 * server error) PLATFORM_UNAVAILABLE.
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
      `the Kubernetes API refused to ${verb} ${what} in namespace ${namespace}: ${status.message}; the site's Role must allow it`,
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
