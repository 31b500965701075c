import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { REDEEM_PATH } from '../link/paths.js';
import type { Logger } from '../log.js';
import { LogThrottle } from '../log-throttle.js';
import type { RedeemRequest, RedeemResult } from './issuer.js';

export { REDEEM_PATH };
export const MAX_REDEEM_BODY = 64 * 1024;
/** Lines per kind (refused, aborted) per window: strangers cause these, so they are capped. */
const LOG_LINES_PER_WINDOW = 10;
const LOG_WINDOW_MS = 10_000;

/**
 * HTTP status per refusal: 400 the request is malformed, 403 the token is not one this
 * site will honour, 410 the token was good but is spent or revoked. Anything else is our fault.
 */
const statusOf: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.INVALID_ARGUMENT]: 400,
  [ErrorCode.TOKEN_INVALID]: 400,
  [ErrorCode.TOKEN_TAMPERED]: 403,
  [ErrorCode.TOKEN_UNKNOWN]: 403,
  [ErrorCode.TOKEN_EXPIRED]: 410,
  [ErrorCode.TOKEN_USED]: 410,
  [ErrorCode.TOKEN_REVOKED]: 410,
};

/**
 * `POST /v1/redeem` with JSON `{ token, csr, siteId, siteName, linkName, siteCa, proof }`; answers
 * 200 `{ cert, serial, ca }` or `{ code, message }`. The request carries the token's
 * secret: nothing from its body is ever logged. Refusals and requests the client abandoned
 * are anyone's doing, so they are logged rate-limited (info and warn), never as our error.
 */
export function createRedeemHandler(
  issuer: { redeem(req: RedeemRequest): Promise<RedeemResult> },
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  const refusedLog = new LogThrottle(LOG_LINES_PER_WINDOW, LOG_WINDOW_MS);
  const abortedLog = new LogThrottle(LOG_LINES_PER_WINDOW, LOG_WINDOW_MS);
  return (req, res) => {
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const fail = (err: unknown): void => {
      const status = err instanceof SkiffError ? statusOf[err.code] : undefined;
      if (err instanceof SkiffError && status !== undefined) {
        const admitted = refusedLog.admit();
        if (admitted)
          logger.info({ remote, code: err.code, ...admitted }, 'token redemption refused');
        send(res, status, { code: err.code, message: err.message });
        return;
      }
      if (req.destroyed && !req.complete) {
        // The client went away before its request was whole: nothing of ours failed.
        const admitted = abortedLog.admit();
        if (admitted)
          logger.warn({ remote, err: describe(err), ...admitted }, 'token redemption aborted');
        return;
      }
      // Our own failure: details go to the log, not to the peer.
      logger.error({ remote, err: describe(err) }, 'token redemption failed');
      send(res, 500, {
        code: ErrorCode.INTERNAL,
        message:
          'the issuer failed to redeem the token (see its log); the token may have been used',
      });
    };
    if ((req.url ?? '').split('?')[0] !== REDEEM_PATH) {
      send(res, 404, {
        code: ErrorCode.NOT_FOUND,
        message: `no such endpoint; POST ${REDEEM_PATH}`,
      });
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      send(res, 405, { code: ErrorCode.INVALID_ARGUMENT, message: `use POST ${REDEEM_PATH}` });
      return;
    }
    readBody(req, res)
      .then((text) => {
        if (text === undefined) return undefined;
        return issuer.redeem(parseRequest(text)).then((r) => {
          send(res, 200, { cert: r.certPem, serial: r.serial, ca: r.caPem });
        });
      })
      .catch(fail);
  };
}

/** The body as text, or undefined after answering 413 because it is too large. */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): void => {
      req.removeAllListeners('data');
      // Close rather than drain the rest: the client may be sending without end.
      res.setHeader('connection', 'close');
      res.on('finish', () => req.destroy());
      send(res, 413, {
        code: ErrorCode.INVALID_ARGUMENT,
        message: `redeem request is larger than ${MAX_REDEEM_BODY} bytes`,
      });
      resolve(undefined);
    };
    if (Number(req.headers['content-length'] ?? 0) > MAX_REDEEM_BODY) {
      tooLarge();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REDEEM_BODY) tooLarge();
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseRequest(text: string): RedeemRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const r = raw as Record<string, unknown> | undefined;
  const fields = ['token', 'csr', 'siteId', 'siteName', 'linkName', 'siteCa', 'proof'] as const;
  if (typeof r !== 'object' || r === null || !fields.every((f) => typeof r[f] === 'string')) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `redeem request must be JSON with string fields ${fields.join(', ')}`,
    );
  }
  return {
    token: r.token as string,
    csrPem: r.csr as string,
    siteId: r.siteId as string,
    siteName: r.siteName as string,
    linkName: r.linkName as string,
    siteCaPem: r.siteCa as string,
    proof: r.proof as string,
  };
}

function send(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
