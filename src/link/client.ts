import { WebSocket } from 'ws';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { maxWsPayload, registerLinkSocket, zeroMask } from './ws-transport.js';

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
export function dialLink(opts: DialOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(opts.url, {
      ca: opts.caPem,
      cert: opts.certPem,
      key: opts.keyPem,
      ...linkTlsOptions,
      perMessageDeflate: false,
      handshakeTimeout: opts.handshakeTimeoutMs,
      maxPayload: maxWsPayload(opts.maxMessageSize),
      generateMask: zeroMask,
      followRedirects: false,
    });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(toDialError(opts.url, err));
    };
    ws.once('error', fail);
    ws.once('upgrade', (res) => registerLinkSocket(ws, res.socket, true));
    ws.once('unexpected-response', (_req, res) => {
      fail(new Error(`link endpoint answered HTTP ${res.statusCode} instead of upgrading`));
    });
    ws.once('close', () => fail(new Error('connection closed during the handshake')));
    ws.once('open', () => {
      settled = true;
      ws.removeAllListeners();
      resolve(ws);
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
  if (/timed out|timeout/i.test(err.message)) {
    return new SkiffError(ErrorCode.TIMEOUT, `${url}: handshake timed out`, { cause: err });
  }
  return new SkiffError(ErrorCode.ISSUER_UNREACHABLE, `${url}: ${describe(err)}`, { cause: err });
}
