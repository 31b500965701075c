import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type RequestOptions, request } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/** RFC 6455 4.2.2: the accept value is SHA-1 of the key and this GUID, in base64. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptValue(key: string): string {
  return createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
}

/** A socket that finished the opening handshake, and bytes read past it. */
export interface Upgraded {
  socket: TLSSocket;
  head: Buffer;
}

/** Why a dial did not upgrade; `status` is the HTTP status when the server answered one. */
export class HandshakeError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

/**
 * The client side of the opening handshake (RFC 6455 4.1) over HTTPS: GET with the upgrade
 * headers, then a 101 whose Sec-WebSocket-Accept matches our key. No subprotocol and no
 * extension are offered, so none may come back. Rejects with HandshakeError (HTTP answer,
 * bad upgrade, timeout) or the socket's error (refused, TLS).
 */
export function dialWebSocket(url: URL, tls: RequestOptions, timeoutMs: number): Promise<Upgraded> {
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request({
      ...tls,
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || 443,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': key,
      },
    });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new HandshakeError(`handshake timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', fail);
    req.on('response', (res) => {
      res.resume();
      fail(
        new HandshakeError(
          `link endpoint answered HTTP ${res.statusCode} instead of upgrading`,
          res.statusCode,
        ),
      );
    });
    req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
      const problem = checkUpgradeResponse(res, key);
      if (problem !== undefined) {
        socket.destroy();
        fail(new HandshakeError(problem, res.statusCode));
        return;
      }
      if (settled) {
        socket.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve({ socket: socket as TLSSocket, head });
    });
    req.end();
  });
}

function checkUpgradeResponse(res: IncomingMessage, key: string): string | undefined {
  if (res.statusCode !== 101) return `link endpoint answered HTTP ${res.statusCode}`;
  if (res.headers.upgrade?.toLowerCase() !== 'websocket') {
    return 'link endpoint upgraded to something other than websocket';
  }
  if (!/\bupgrade\b/i.test(res.headers.connection ?? '')) {
    return 'link endpoint answered 101 without Connection: Upgrade';
  }
  if (res.headers['sec-websocket-accept'] !== acceptValue(key)) {
    return 'link endpoint sent a wrong Sec-WebSocket-Accept';
  }
  if (res.headers['sec-websocket-extensions'] || res.headers['sec-websocket-protocol']) {
    return 'link endpoint agreed to an extension or subprotocol that was not offered';
  }
  return undefined;
}

/**
 * The server side (RFC 6455 4.2): checks the upgrade request and answers 101. Returns
 * false after answering 400 (with the reason) when the request is not a valid WebSocket
 * upgrade. Extensions and subprotocols offered are declined by not naming any.
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex): boolean {
  const key = req.headers['sec-websocket-key'];
  let problem: string | undefined;
  if (req.method !== 'GET') problem = 'a WebSocket upgrade must be a GET';
  else if (req.headers.upgrade?.toLowerCase() !== 'websocket') problem = 'not a WebSocket upgrade';
  else if (req.headers['sec-websocket-version'] !== '13') {
    problem = 'unsupported Sec-WebSocket-Version (13 is required)';
  } else if (typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16) {
    problem = 'missing or malformed Sec-WebSocket-Key';
  }
  if (problem !== undefined) {
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(problem)}\r\n\r\n${problem}`,
    );
    return false;
  }
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
      `sec-websocket-accept: ${acceptValue(key as string)}\r\n\r\n`,
  );
  return true;
}
