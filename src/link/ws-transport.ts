import type { WebSocket } from 'ws';
import type { MessageTransport } from '../mux/transport.js';
import { HEADER_SIZE, MAX_CONTROL_PAYLOAD } from '../protocol/frame.js';

/** Hands the mux's coalesced messages to a WebSocket as single binary frames. */
export function wsTransport(ws: WebSocket): MessageTransport {
  const options = { binary: true, compress: false, fin: true } as const;
  return {
    send(message, cb) {
      ws.send(message, options, cb);
    },
  };
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
