/**
 * Every error skiff raises on purpose is a SkiffError with a stable code. The code
 * travels across the admin API (gRPC metadata) and the redemption endpoint (JSON), so
 * the CLI can print the same one-line message the router produced.
 */
export const ErrorCode = {
  /** Bad command-line or API input (a flag, a name, a duration). */
  INVALID_ARGUMENT: 'SKIFF_ERR_INVALID_ARGUMENT',
  /** The thing named does not exist (a link, a listener, a connector). */
  NOT_FOUND: 'SKIFF_ERR_NOT_FOUND',
  /** The thing already exists under that name. */
  ALREADY_EXISTS: 'SKIFF_ERR_ALREADY_EXISTS',
  /** No router is running for the state dir. */
  NO_ROUTER: 'SKIFF_ERR_NO_ROUTER',
  /** A router is already running for the state dir. */
  ROUTER_RUNNING: 'SKIFF_ERR_ROUTER_RUNNING',
  /** The state dir holds no site (run `site create` or `site run`). */
  NO_SITE: 'SKIFF_ERR_NO_SITE',
  /** A file in the state dir cannot be read or parsed. */
  STATE_CORRUPT: 'SKIFF_ERR_STATE_CORRUPT',
  /** The file given as a token is not a skiff token. */
  TOKEN_INVALID: 'SKIFF_ERR_TOKEN_INVALID',
  /** The token's signature does not match its contents. */
  TOKEN_TAMPERED: 'SKIFF_ERR_TOKEN_TAMPERED',
  /** The token's expiry has passed. */
  TOKEN_EXPIRED: 'SKIFF_ERR_TOKEN_EXPIRED',
  /** The token has no uses left. */
  TOKEN_USED: 'SKIFF_ERR_TOKEN_USED',
  /** The issuer revoked the token (`token revoke`). */
  TOKEN_REVOKED: 'SKIFF_ERR_TOKEN_REVOKED',
  /** The issuer does not know this token (or the secret is wrong). */
  TOKEN_UNKNOWN: 'SKIFF_ERR_TOKEN_UNKNOWN',
  /** The token's issuer could not be reached. */
  ISSUER_UNREACHABLE: 'SKIFF_ERR_ISSUER_UNREACHABLE',
  /** This site does not accept links (`--no-link-access`). */
  NO_LINK_ACCESS: 'SKIFF_ERR_NO_LINK_ACCESS',
  /** A port is already in use. */
  PORT_IN_USE: 'SKIFF_ERR_PORT_IN_USE',
  /** A peer broke the wire protocol. */
  PROTOCOL: 'SKIFF_ERR_PROTOCOL',
  /** A configured limit was hit (streams per link, frame size). */
  LIMIT: 'SKIFF_ERR_LIMIT',
  /** A handshake or dial took too long. */
  TIMEOUT: 'SKIFF_ERR_TIMEOUT',
  /** A connector's target has nothing ready to take a stream (Kubernetes: no ready pod or endpoint). */
  TARGET_UNAVAILABLE: 'SKIFF_ERR_TARGET_UNAVAILABLE',
  /** The platform refused an operation (Kubernetes RBAC: the Role lacks a verb). */
  FORBIDDEN: 'SKIFF_ERR_FORBIDDEN',
  /** The platform's API (Kubernetes) could not be reached, refused our credentials or failed. */
  PLATFORM_UNAVAILABLE: 'SKIFF_ERR_PLATFORM_UNAVAILABLE',
  /** The state cannot be written (a full disk, a read-only file system); nothing was changed. */
  STATE_UNWRITABLE: 'SKIFF_ERR_STATE_UNWRITABLE',
  /** A person asked to confirm said no; nothing was changed. */
  ABORTED: 'SKIFF_ERR_ABORTED',
  /** Anything else: a bug or an unexpected system error. */
  INTERNAL: 'SKIFF_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Process exit status per code, so scripts can tell "bad input" from "no router". */
const exitCodes: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.INVALID_ARGUMENT]: 2,
  [ErrorCode.NO_ROUTER]: 3,
  [ErrorCode.NOT_FOUND]: 4,
};

export class SkiffError extends Error {
  override readonly name = 'SkiffError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  get exitCode(): number {
    return exitCodes[this.code] ?? 1;
  }
}

export function isSkiffError(err: unknown, code?: ErrorCode): err is SkiffError {
  return err instanceof SkiffError && (code === undefined || err.code === code);
}

/** Whether `err`, or an error in its chain of causes, is a SkiffError with `code`. */
export function causedBy(err: unknown, code: ErrorCode): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (isSkiffError(e, code)) return true;
  }
  return false;
}

/**
 * A one-line description of any thrown value, for logs and wrapped errors: a system error's
 * code (ECONNREFUSED) is added, a SkiffError's message already says it all (it lands in
 * columns people read, such as a connector's ERROR).
 */
export function describe(err: unknown): string {
  if (err instanceof SkiffError) return err.message;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
