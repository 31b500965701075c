import { WebSocket } from 'ws';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { LinkTransport } from './websocket/transport.js';
import { maxLinkMessage, WsLinkSocket, wsClientOptions } from './websocket/ws-socket.js';

export interface DialOptions {
  url: string;
  /** The issuer's CA: the only root this link trusts. */
  caPem: string;
  certPem: string;
  keyPem: string;
  handshakeTimeoutMs: number;
  maxMessageSize: number;
}

/**
 * TLS settings shared by both ends of a link: TLS 1.3 only, AES-128-GCM preferred (about a
 * third cheaper than AES-256-GCM with AES-NI and as safe for this use; the link server
 * honours this order), the other TLS 1.3 suites still accepted.
 */
export const linkTlsOptions = {
  minVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
} as const;

/**
 * Opens the wss connection of an outgoing link: TLS 1.3 with this site's client
 * certificate, the server verified against the pinned issuer CA (hostname included).
 */
export async function dialLink(opts: DialOptions): Promise<LinkTransport> {
  try {
    return await dialWithWs(opts);
  } catch (err) {
    throw toDialError(opts.url, err as Error);
  }
}

/** Why a dial did not upgrade: the HTTP status the link endpoint answered instead. */
class HandshakeError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

/** The wss dial through the ws package (decision 0006); the socket once it is open. */
async function dialWithWs(opts: DialOptions): Promise<WsLinkSocket> {
  const ws = new WebSocket(opts.url, {
    ca: opts.caPem,
    cert: opts.certPem,
    key: opts.keyPem,
    ...linkTlsOptions,
    ...wsClientOptions(maxLinkMessage(opts.maxMessageSize), opts.handshakeTimeoutMs),
  });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      reject(
        new HandshakeError(
          `link endpoint answered HTTP ${res.statusCode} instead of upgrading`,
          res.statusCode,
        ),
      );
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.removeListener('error', reject);
      resolve(new WsLinkSocket(ws));
    });
  });
}

function toDialError(url: string, err: Error): SkiffError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || /socket hang up/.test(err.message)) {
    return new SkiffError(
      ErrorCode.ISSUER_UNREACHABLE,
      `${url} closed the connection during the TLS handshake: the link's credential may have been revoked`,
      { cause: err },
    );
  }
  if (err instanceof HandshakeError && err.status !== undefined) {
    return new SkiffError(ErrorCode.ISSUER_UNREACHABLE, `${url}: ${err.message}`, { cause: err });
  }
  if (/timed out|timeout/i.test(err.message)) {
    return new SkiffError(ErrorCode.TIMEOUT, `${url}: handshake timed out`, { cause: err });
  }
  return new SkiffError(ErrorCode.ISSUER_UNREACHABLE, `${url}: ${describe(err)}`, { cause: err });
}
