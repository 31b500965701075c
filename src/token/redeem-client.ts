import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { redeemUrlFor, type TokenBody } from './token.js';

export interface RedeemClientRequest {
  csrPem: string;
  siteId: string;
  siteName: string;
  linkName: string;
  /** This site's CA certificate and its proof of the site id (proof.ts). */
  siteCaPem: string;
  proof: string;
}

export interface RedeemClientResult {
  certPem: string;
  serial: string;
  caPem: string;
  /** The link URL (wss://) whose issuer answered: the one to dial first. */
  url: string;
}

/** A redeem answer is a certificate and a CA: a few KiB. More is not an issuer. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
const knownCodes = new Set<string>(Object.values(ErrorCode));

/** What happened at one URL when no skiff issuer answered there. */
interface Unreached {
  origin: string;
  cause: string;
  /** TLS was up with the pinned issuer, so the request may have been processed. */
  reachedIssuer: boolean;
}

/**
 * Redeems a token at its issuer: tries each of the token's URLs in turn until one
 * answers. TLS is pinned to the token's CA with the normal host name check, so only the
 * issuer ever sees the secret. An answer from the issuer (success or refusal) is final;
 * only a URL that could not be reached moves on to the next.
 */
export async function redeemToken(
  token: TokenBody,
  tokenText: string,
  req: RedeemClientRequest,
  opts: { timeoutMs: number },
): Promise<RedeemClientResult> {
  const payload = JSON.stringify({
    token: tokenText,
    csr: req.csrPem,
    siteId: req.siteId,
    siteName: req.siteName,
    linkName: req.linkName,
    siteCa: req.siteCaPem,
    proof: req.proof,
  });
  const unreached: Unreached[] = [];
  for (const url of token.urls) {
    const redeemUrl = redeemUrlFor(url);
    const outcome = await post(redeemUrl, payload, token.ca, opts.timeoutMs);
    if ('unreached' in outcome) {
      unreached.push(outcome.unreached);
      continue;
    }
    const { status, body } = outcome;
    if (status === 200) return { ...checkAnswer(body, token.ca), url };
    if (typeof body?.code === 'string' && knownCodes.has(body.code)) {
      throw new SkiffError(body.code as ErrorCode, String(body.message ?? body.code));
    }
    unreached.push({
      origin: new URL(redeemUrl).origin,
      cause: `HTTP ${status} without a skiff error`,
      reachedIssuer: true,
    });
  }
  const where = unreached.map((u) => `${u.origin} (${u.cause})`).join(', ');
  const used = unreached.some((u) => u.reachedIssuer)
    ? 'The token may have been used; if a retry says so, ask the issuer for a new token.'
    : 'The token was not used.';
  throw new SkiffError(
    ErrorCode.ISSUER_UNREACHABLE,
    `cannot reach the token's issuer at ${where}; is its router running and is the port reachable? ${used}`,
  );
}

type Answer = Record<string, unknown> | undefined;

function post(
  url: string,
  payload: string,
  caPem: string,
  timeoutMs: number,
): Promise<{ status: number; body: Answer } | { unreached: Unreached }> {
  const origin = new URL(url).origin;
  return new Promise((resolve) => {
    let reachedIssuer = false;
    let settled = false;
    const unreached = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ unreached: { origin, cause: describe(err), reachedIssuer } });
    };
    const req = request(url, {
      method: 'POST',
      ca: caPem,
      minVersion: 'TLSv1.3',
      // A fresh connection each time: nothing pooled from another trust setting.
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      },
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('socket', (socket) => socket.once('secureConnect', () => (reachedIssuer = true)));
    req.on('error', unreached);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('answer too large'));
        else chunks.push(chunk);
      });
      res.on('error', unreached);
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: parseJson(Buffer.concat(chunks)) });
      });
    });
    req.end(payload);
  });
}

function parseJson(data: Buffer): Answer {
  try {
    const v: unknown = JSON.parse(data.toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The issuer's certificate must be a certificate signed by the CA the token pinned. */
function checkAnswer(body: Answer, tokenCa: string): Omit<RedeemClientResult, 'url'> {
  const { cert, serial, ca } = body ?? {};
  if (typeof cert === 'string' && typeof serial === 'string' && typeof ca === 'string') {
    try {
      if (new X509Certificate(cert).verify(new X509Certificate(tokenCa).publicKey)) {
        return { certPem: cert, serial, caPem: ca };
      }
    } catch {
      // falls through to the protocol error
    }
  }
  throw new SkiffError(
    ErrorCode.PROTOCOL,
    "the issuer's answer is not a certificate signed by the token's CA; report this to the issuer",
  );
}
