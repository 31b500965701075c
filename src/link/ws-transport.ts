import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { MessageTransport } from '../mux/transport.js';
import { HEADER_SIZE, MAX_CONTROL_PAYLOAD } from '../protocol/frame.js';

/** The socket under each link's WebSocket, and whether this end masks (the dialler). */
const linkSockets = new WeakMap<WebSocket, { socket: Duplex; masked: boolean }>();

/**
 * Lets wsTransport(ws) write whole pre-framed messages straight to the link's TLS socket.
 * The dialler registers the socket from the `upgrade` response, the link server the one
 * it handed to handleUpgrade; a WebSocket without a registration just uses ws.send().
 */
export function registerLinkSocket(ws: WebSocket, socket: Duplex, masked: boolean): void {
  linkSockets.set(ws, { socket, masked });
}

/** The largest WebSocket frame header: 2 bytes, a 64-bit length, a masking key. */
export const WS_HEADROOM = 14;

/**
 * Hands the mux's coalesced messages to a WebSocket as single binary frames.
 *
 * Fast path: the outbox leaves WS_HEADROOM spare bytes in front of each message; the frame
 * header (FIN, binary, length, and for the dialler the MASK bit with an all-zero key, which
 * makes masking a no-op) is written there and header + message go to the TLS socket in ONE
 * write. ws.send() would write the header and the payload separately (cork + two writes),
 * which Node's TLS layer joins with an extra copy before encrypting.
 *
 * Why this keeps ws's state intact: without permessage-deflate and without Blob data, ws's
 * Sender never queues, it frames and writes synchronously, so every write it makes (pong,
 * close) and every write here lands between whole frames, exactly as if ws.send() had been
 * called. Only an OPEN WebSocket is written to: once ws.close() started (CLOSING) or the
 * socket is gone, the message goes through ws.send(), which fails it as ws does.
 */
export function wsTransport(ws: WebSocket): MessageTransport {
  const options = { binary: true, compress: false, fin: true } as const;
  const link = linkSockets.get(ws);
  if (link === undefined) {
    return {
      send(message, cb, reserved = 0) {
        ws.send(reserved === 0 ? message : message.subarray(reserved), options, cb);
      },
    };
  }
  const { socket, masked } = link;
  return {
    headroom: WS_HEADROOM,
    send(message, cb, reserved = 0) {
      const length = message.length - reserved;
      const header = wsHeaderSize(length, masked);
      if (reserved < header || ws.readyState !== WebSocket.OPEN) {
        ws.send(message.subarray(reserved), options, cb);
        return;
      }
      const start = reserved - header;
      writeWsHeader(message, start, length, masked);
      socket.write(message.subarray(start), cb);
    },
  };
}

/** Bytes of the header of a FIN binary frame carrying `length` bytes (RFC 6455 5.2). */
export function wsHeaderSize(length: number, masked: boolean): number {
  const base = length < 126 ? 2 : length < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

/** Writes that header at `off`; a masked frame gets the all-zero masking key. */
export function writeWsHeader(buf: Buffer, off: number, length: number, masked: boolean): void {
  const maskBit = masked ? 0x80 : 0;
  buf[off] = 0x82; // FIN + opcode 2 (binary); RSV bits 0: no extension
  let p = off + 2;
  if (length < 126) {
    buf[off + 1] = maskBit | length;
  } else if (length < 65536) {
    buf[off + 1] = maskBit | 126;
    buf.writeUInt16BE(length, p);
    p += 2;
  } else {
    buf[off + 1] = maskBit | 127;
    buf.writeUInt32BE(Math.floor(length / 2 ** 32), p);
    buf.writeUInt32BE(length >>> 0, p + 4);
    p += 8;
  }
  if (masked) buf.writeUInt32BE(0, p);
}

/**
 * The dialling side must mask its frames (RFC 6455), but a zero mask makes masking a
 * no-op that ws skips: the link already runs inside TLS, so the mask protects nothing.
 */
export function zeroMask(): void {}

/** The largest WebSocket message a link accepts: a coalesced message, or one big CONTROL frame. */
export function maxWsPayload(maxMessageSize: number): number {
  return Math.max(maxMessageSize, MAX_CONTROL_PAYLOAD + HEADER_SIZE) + 1024;
}
