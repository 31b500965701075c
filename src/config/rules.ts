/**
 * One definition per input rule, shared by the CLI (cli/validate.ts), the admin server
 * (admin/requests.ts) and the state schemas (state/schema.ts): names, ports, hosts and the
 * sizes of what a caller may hand the router. Each check returns a problem in words, or
 * undefined when the value is good; callers wrap it in the error their layer raises.
 */
import { isIP } from 'node:net';

/** Site, link and address names are DNS labels (RFC 1123): they become host and Service names. */
export const MAX_NAME = 63;
const labelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const NAME_RULE = `lower-case letters, digits and '-', starting and ending with a letter or digit, at most ${MAX_NAME} characters`;

export const MAX_HOST = 253;
const hostLabelPattern = /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/;

/** A token file is a few KB; anything far larger is not one. */
export const MAX_TOKEN_BYTES = 64 * 1024;
export const MAX_LINK_COST = 1_000_000;
export const MAX_TOKEN_USES = 1_000_000;
/** A token that outlives a year is a standing credential, which tokens are not. */
export const MAX_TOKEN_EXPIRY_MS = 366 * 24 * 3600 * 1000;

/** Token ids are 16 random bytes in lower-case hex (token/issuer.ts makes them). */
const tokenIdPattern = /^[0-9a-f]{32}$/;

/** A value as it may be quoted in a message: bounded, so a huge input never makes a huge error. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const short = text.length > 64 ? `${text.slice(0, 64)}...` : text;
  return typeof value === 'string' ? JSON.stringify(short) : short;
}

export function nameProblem(value: unknown, what: string): string | undefined {
  if (typeof value === 'string' && value.length <= MAX_NAME && labelPattern.test(value)) {
    return undefined;
  }
  return `${what} ${quote(value)} is not valid: use ${NAME_RULE}`;
}

export function portProblem(value: unknown, what: string): string | undefined {
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535) {
    return undefined;
  }
  return `${what} ${quote(value)} is not a port: give a number from 1 to 65535`;
}

/** A host name (dot-separated labels) or an IP address, never empty. */
export function hostProblem(value: unknown, what: string): string | undefined {
  if (typeof value === 'string' && value.length > 0 && value.length <= MAX_HOST) {
    if (isIP(value) !== 0) return undefined;
    if (value.split('.').every((label) => hostLabelPattern.test(label))) return undefined;
  }
  return `${what} ${quote(value)} is not a host name or IP address`;
}

/** A whole number from 1 to `max`. */
export function countProblem(value: unknown, what: string, max: number): string | undefined {
  if (Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= max) {
    return undefined;
  }
  return `${what} ${quote(value)} must be a whole number from 1 to ${max}`;
}

/** A token id as `token create` printed it and `token list` shows it. */
export function tokenIdProblem(value: unknown, what: string): string | undefined {
  if (typeof value === 'string' && tokenIdPattern.test(value)) return undefined;
  return `${what} ${quote(value)} is not a token id: give the 32 hex digits skiff token list shows`;
}
