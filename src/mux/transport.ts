/**
 * What the mux needs from a link: a way to send one binary message. The WebSocket layer
 * implements it (src/link/websocket/ws-socket.ts); tests use an in-memory pair.
 */
export interface MessageTransport {
  /**
   * Set by a transport that frames messages itself (the WebSocket one writes its frame
   * header into the same buffer, so header and message leave in one socket write). The
   * outbox then (1) leaves this many spare bytes in front of each message it builds and
   * passes their count as `reserved`, and (2) reuses the buffer once `cb` has run: such a
   * transport must not keep the buffer, or views of it, after calling `cb`.
   */
  readonly headroom?: number;
  /**
   * With `headroom`: the exact number of bytes the transport puts in front of a message of
   * `length` bytes. The outbox reserves that much (not `headroom`) in the small messages it
   * allocates, so the transport writes the buffer as it is instead of a view of it.
   */
  headerSize?(length: number): number;
  /**
   * Sends one binary message: `message.subarray(reserved)`; the `reserved` bytes before it
   * are the transport's to overwrite (0 unless `headroom` is set). cb runs once the bytes
   * are handed to the socket (or with an error); callbacks run in the order of the sends.
   */
  send(message: Buffer, cb: (err?: Error | null) => void, reserved?: number): void;
  /**
   * Stops reading from the peer's socket (so the kernel pushes back on it) until
   * resumeReading(). The mux calls it while the replies it holds for the peer exceed
   * linkHighWater (a peer that sends but does not read). Idempotent, as is resumeReading.
   */
  pauseReading?(): void;
  /** Starts reading from the peer's socket again after pauseReading(). */
  resumeReading?(): void;
}
