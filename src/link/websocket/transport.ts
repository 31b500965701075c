import type { MessageTransport } from '../../mux/transport.js';

/**
 * A link's WebSocket after the opening handshake, as the link and the site use it
 * (WsLinkSocket, on the ws package: decision 0006). Set the handlers right after
 * construction, in the same turn.
 */
export interface LinkTransport extends MessageTransport {
  /** The next piece of a received binary message, `buf[start..end)`; `last` on its final piece. */
  onMessage: (buf: Buffer, start: number, end: number, last: boolean) => void;
  /** The connection ended: the peer's close status and reason, or 1006 and what broke. */
  onClose: (code: number, reason: string) => void;
  readonly isOpen: boolean;
  /** Starts the close handshake; the socket is dropped if the peer does not answer in time. */
  close(code?: number, reason?: string): void;
  /** Drops the connection at once. */
  terminate(): void;
}
