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

/**
 * Kubernetes object names (deployment/NAME, statefulset/NAME) are DNS-1123 subdomains:
 * dot-separated lower-case labels, at most 253 characters, as the API server requires.
 */
export const MAX_SUBDOMAIN = 253;
export const SUBDOMAIN_RULE = `lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most ${MAX_SUBDOMAIN} characters`;

export function subdomainProblem(value: unknown, what: string): string | undefined {
  if (
    typeof value === 'string' &&
    value.length <= MAX_SUBDOMAIN &&
    value.split('.').every((label) => labelPattern.test(label))
  ) {
    return undefined;
  }
  return `${what} ${quote(value)} is not valid: use ${SUBDOMAIN_RULE}`;
}

/** Service names are DNS-1035 labels: a DNS label that starts with a letter. */
const serviceNamePattern = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function serviceNameProblem(value: unknown, what: string): string | undefined {
  if (typeof value === 'string' && serviceNamePattern.test(value)) return undefined;
  return `${what} ${quote(value)} is not a Service name: use lower-case letters, digits and '-', starting with a letter and ending with a letter or digit, at most ${MAX_NAME} characters`;
}

/**
 * A named port (a container's or a Service's), as Kubernetes allows it (IANA_SVC_NAME):
 * at most 15 lower-case letters, digits and '-', with a letter, no '--', no '-' at an end.
 */
export const MAX_PORT_NAME = 15;
const portNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function portNameProblem(value: unknown, what: string): string | undefined {
  if (
    typeof value === 'string' &&
    value.length <= MAX_PORT_NAME &&
    portNamePattern.test(value) &&
    /[a-z]/.test(value) &&
    !value.includes('--')
  ) {
    return undefined;
  }
  return `${what} ${quote(value)} is not a port number or port name: give 1 to 65535, or a name of at most ${MAX_PORT_NAME} lower-case letters, digits and '-' with at least one letter`;
}

/**
 * Label keys: an optional DNS-1123 subdomain prefix and '/', then a name of at most 63
 * letters, digits, '-', '_' and '.', starting and ending with a letter or digit.
 */
const labelNamePattern = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function labelKeyProblem(value: unknown, what: string): string | undefined {
  if (typeof value === 'string') {
    const slash = value.indexOf('/');
    const prefix = slash < 0 ? undefined : value.slice(0, slash);
    const name = slash < 0 ? value : value.slice(slash + 1);
    if (
      labelNamePattern.test(name) &&
      (prefix === undefined || subdomainProblem(prefix, '') === undefined)
    ) {
      return undefined;
    }
  }
  return `${what} ${quote(value)} is not a label key: use [PREFIX/]NAME, NAME at most 63 letters, digits, '-', '_' and '.' starting and ending with a letter or digit, PREFIX a DNS subdomain`;
}

/** Label values: empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit. */
export function labelValueProblem(value: unknown, what: string): string | undefined {
  if (typeof value === 'string' && (value === '' || labelNamePattern.test(value))) {
    return undefined;
  }
  return `${what} ${quote(value)} is not a label value: use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
}

/** A label selector skiff takes (--selector, a connector record): terms and characters. */
export const MAX_SELECTOR_TERMS = 16;
export const MAX_SELECTOR_TEXT = 1024;

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
