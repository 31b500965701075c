/**
 * What one link carried since the router started, over all its connections: plain integers
 * the mux and outbox bump once per message or frame (never a metric call on the data path);
 * /metrics reads them when it is scraped (registry.ts). Bytes are the link protocol's: frame
 * headers and payloads, without the WebSocket and TLS framing around them.
 */
export class LinkCounters {
  /** Bytes of the messages handed to the link's socket. */
  sentBytes = 0;
  /** Frames in those messages (DATA and control alike). */
  sentFrames = 0;
  /** Bytes of the messages read from the link's socket. */
  receivedBytes = 0;
  receivedFrames = 0;
  /** Connections that came up (the peer said hello): a reconnect is every one after the first. */
  ups = 0;
}
