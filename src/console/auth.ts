import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The console's access token: 32 random bytes, made when the console starts and kept only
 * in the router's memory. A request shows it as `?token=` (the URL `skiff console`
 * prints; the page then sets a cookie and drops it from the address bar), as the cookie,
 * or as `Authorization: Bearer`. Compared in constant time, over SHA-256 digests so the
 * lengths always match.
 */
export class ConsoleToken {
  readonly value = randomBytes(32).toString('base64url');
  private readonly digest = sha256(this.value);
  /**
   * Cookies are per host, not per port: several routers' consoles on one machine each name
   * theirs apart (after the token's digest, which tells nothing of the token).
   */
  readonly cookieName = `skiff_console_${this.digest.subarray(0, 6).toString('hex')}`;

  matches(candidate: string | undefined): boolean {
    return candidate !== undefined && timingSafeEqual(sha256(candidate), this.digest);
  }

  /** Whether the request carries the token in its cookie or an Authorization header. */
  admits(req: IncomingMessage): boolean {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    return this.matches(bearer) || this.matches(cookie(req, this.cookieName));
  }

  /** HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it. */
  setCookie(): string {
    return `${this.cookieName}=${this.value}; Path=/; HttpOnly; SameSite=Strict`;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
