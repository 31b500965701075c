/**
 * What the mux needs from a link: a way to send one binary message. The WebSocket layer
 * implements it (src/link/ws-transport.ts); tests use an in-memory pair.
 */
export interface MessageTransport {
  /** Sends one binary message; cb runs once the bytes are handed to the socket (or with an error). */
  send(message: Buffer, cb: (err?: Error) => void): void;
}
