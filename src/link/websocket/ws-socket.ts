import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { describe } from '../../errors.js';
import { HEADER_SIZE, MAX_CONTROL_PAYLOAD } from '../../protocol/frame.js';
import { countRead } from '../../runtime/gc-pacer.js';
import type { LinkTransport } from './transport.js';

/** Close status codes used here (RFC 6455 7.4.1). */
export const CloseStatus = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL: 1002,
  UNSUPPORTED: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
} as const;

/** The largest message a link accepts: a coalesced message, or one big CONTROL frame. */
export function maxLinkMessage(maxMessageSize: number): number {
  return Math.max(maxMessageSize, MAX_CONTROL_PAYLOAD + HEADER_SIZE) + 1024;
}

/**
 * How long a closing end waits for the peer's close frame before dropping the socket. The
 * peer reads every byte before it, so this is also how long a slow peer has to take the last
 * bytes of a router that stops.
 */
const CLOSE_WAIT_MS = 3000;

/**
 * ws options both ends share: no compression (the link carries TLS-encrypted, mostly
 * incompressible streams), whole messages up to `maxMessage`, pings answered by WsLinkSocket
 * itself so that a peer that does not read cannot queue pongs. skipUTF8Validation stays off:
 * links carry no text, and it would also skip the check of a close reason (RFC 6455 7.4).
 */
function sharedOptions(maxMessage: number) {
  return {
    perMessageDeflate: false,
    maxPayload: maxMessage,
    autoPong: false,
  } as const;
}

/**
 * The dialler's ws options: as sharedOptions, and the all-zero masking key, which makes
 * masking a no-op (ws then skips the pass over every byte): the link already runs inside TLS.
 */
export function wsClientOptions(maxMessage: number, handshakeTimeoutMs: number) {
  return {
    ...sharedOptions(maxMessage),
    handshakeTimeout: handshakeTimeoutMs,
    generateMask: (mask: Buffer) => void mask.fill(0),
  };
}

/** The acceptor's ws server: it only upgrades sockets the LinkServer hands it. */
export function wsAcceptor(maxMessage: number): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    clientTracking: false,
    ...sharedOptions(maxMessage),
  });
}

/**
 * Completes an upgrade the LinkServer accepted (ws answers 400 to a bad request itself).
 * Resolves the link, or undefined when ws refused the request.
 */
export function acceptWithWs(
  wss: WebSocketServer,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): WsLinkSocket | undefined {
  let link: WsLinkSocket | undefined;
  wss.handleUpgrade(req, socket, head, (ws) => {
    link = new WsLinkSocket(ws);
  });
  return link;
}

/**
 * A link's WebSocket, carried by the ws package (decision 0006): the
 * mux sends whole binary messages (no headroom: ws writes its own header), received messages
 * arrive whole from ws and are handed on as one piece. Reading can be paused (ws pauses its
 * socket); a ping is answered only while less than one message waits to be written, so a
 * ping flood from a peer that does not read queues nothing.
 */
export class WsLinkSocket implements LinkTransport {
  /**
   * ws writes its frame header as a buffer of its own, so no bytes are reserved; declaring
   * the (empty) headroom lets the outbox reuse its message buffers, which is safe because ws
   * keeps no reference to a message once the socket took it and `cb` ran.
   */
  readonly headroom = 0;
  onMessage: (buf: Buffer, start: number, end: number, last: boolean) => void = () => undefined;
  onClose: (code: number, reason: string) => void = () => undefined;
  private error = '';

  constructor(private readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = data as Buffer;
      countRead(buf.length);
      if (!isBinary) {
        ws.close(CloseStatus.UNSUPPORTED, 'the peer sent a text message');
        return;
      }
      this.onMessage(buf, 0, buf.length, true);
    });
    ws.on('ping', (payload: Buffer) => {
      if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount < MAX_PONG_BACKLOG) {
        ws.pong(payload);
      }
    });
    ws.on('error', (err) => {
      if (this.error === '') this.error = describe(err);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.onMessage = () => undefined;
      this.onClose(code, reason.length > 0 ? reason.toString('utf8') : this.error);
    });
  }

  headerSize(): number {
    return 0;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: Buffer, cb: (err?: Error | null) => void, reserved = 0): void {
    if (!this.isOpen) {
      queueMicrotask(() => cb(new Error('link socket is closed')));
      return;
    }
    this.ws.send(reserved === 0 ? message : message.subarray(reserved), SEND_OPTIONS, cb);
  }

  close(code: number = CloseStatus.NORMAL, reason = ''): void {
    if (!this.isOpen) return;
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), CLOSE_WAIT_MS).unref();
  }

  terminate(): void {
    this.ws.terminate();
  }

  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }
}

const SEND_OPTIONS = { binary: true, compress: false, fin: true } as const;

/** Pongs are skipped while this much waits to be written (one small message's worth). */
const MAX_PONG_BACKLOG = 64 * 1024;
