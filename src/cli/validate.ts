/**
 * Checks of command-line input, run before a command does anything. Each failure is a
 * SkiffError INVALID_ARGUMENT whose message says what is wrong and how to write it.
 */
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseDuration } from '../config/duration.js';
import { hostProblem, nameProblem, portProblem, quote, tokenIdProblem } from '../config/rules.js';
import { ErrorCode, SkiffError } from '../errors.js';
import { isLinkCost, LINK_COST_RULE } from '../routing/cost.js';

function invalid(message: string): SkiffError {
  return new SkiffError(ErrorCode.INVALID_ARGUMENT, message);
}

/** An address, link or site name: a DNS label (config/rules.ts). */
export function parseName(text: string, what: string): string {
  const problem = nameProblem(text, what);
  if (problem !== undefined) throw invalid(problem);
  return text;
}

export function parseAddress(text: string): string {
  return parseName(text, 'address');
}

/** A token id, as `token create` printed it (config/rules.ts). */
export function parseTokenId(text: string): string {
  const problem = tokenIdProblem(text, 'token id');
  if (problem !== undefined) throw invalid(problem);
  return text;
}

/** A TCP port, 1-65535, written in decimal. */
export function parsePort(text: string, flag: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (portProblem(port, flag) !== undefined) {
    throw invalid(`${flag} ${quote(text)} is not a port: give a number from 1 to 65535`);
  }
  return port;
}

/** A host name or IP address (an IPv6 address may be written in brackets). */
export function parseHost(text: string, flag: string): string {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (hostProblem(bare, flag) === undefined) return bare;
  throw invalid(`${flag} ${quote(text)} is not a host name or IP address`);
}

/** `HOST:PORT`, with IPv6 hosts in brackets: `127.0.0.1:8080`, `db.local:5432`, `[::1]:80`. */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\]:([^:]*)$/.exec(text);
  const plain = /^([^:[\]]+):([^:]*)$/.exec(text);
  const m = bracketed ?? plain;
  if (!m) {
    const hint =
      text.split(':').length > 2 ? ' (write IPv6 addresses in brackets, like [::1]:80)' : '';
    throw invalid(`${flag} "${text}" is not HOST:PORT, like 127.0.0.1:8080${hint}`);
  }
  if (bracketed && isIP(m[1]!) !== 6) {
    throw invalid(`${flag} "${text}": only IPv6 addresses go in brackets, like [::1]:80`);
  }
  return { host: parseHost(m[1]!, flag), port: parsePort(m[2]!, `${flag} port`) };
}

/** A whole number of at least 1 (token uses, link cost). */
export function parsePositiveInt(text: string, flag: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw invalid(`${flag} "${text}" must be a whole number of at least 1`);
  }
  return n;
}

/** A link cost flag: the rule routing checks on every link (routing/cost.ts). */
export function parseLinkCost(text: string, flag: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!isLinkCost(n)) throw invalid(`${flag} "${text}" must be ${LINK_COST_RULE}`);
  return n;
}

/** A duration flag (`30s`, `15m`, `2h`), in milliseconds. */
export function parseDurationFlag(text: string, flag: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    if (err instanceof SkiffError) throw invalid(`${flag}: ${err.message}`);
    throw err;
  }
}

/** The text of a token file, refused with a clear message when it cannot be used. */
export async function readTokenFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw invalid(`cannot read token file ${file}: ${fileProblem(err)}`);
  }
  if (text.trim() === '') {
    throw invalid(`token file ${file} is empty; create a token with: skiff token create FILE`);
  }
  return text;
}

/**
 * A path a command may create: it must not exist yet (nothing is overwritten) and its
 * directory must. Returns the absolute path.
 */
export async function checkNewFile(file: string, what: string): Promise<string> {
  const path = resolve(file);
  const existing = await stat(path).catch(() => undefined);
  if (existing) {
    throw new SkiffError(
      ErrorCode.ALREADY_EXISTS,
      `${file} already exists; give a new file name for the ${what}, or remove the old file first`,
    );
  }
  const dir = await stat(dirname(path)).catch(() => undefined);
  if (!dir?.isDirectory()) {
    throw invalid(`cannot write ${file}: directory ${dirname(path)} does not exist`);
  }
  return path;
}

/** A file-system error in words a person understands. */
export function fileProblem(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
