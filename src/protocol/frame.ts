/**
 * The skiff link wire format. Pure definitions: no I/O, no state.
 *
 * A link carries binary WebSocket messages. Each message holds one or more WHOLE frames
 * back to back; a frame never spans two messages. Every frame is a fixed 12-byte header
 * followed by its payload. All integers are big-endian (network order).
 *
 * ```
 *  0        1        2                 4                                 8                                12
 * +--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+
 * |  type  | flags  |    reserved     |            stream id              |          payload length           |
 * +--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+
 * | payload (payload length bytes) ...
 * ```
 * - type (u8): one of {@link FrameType}; anything else is a protocol error.
 * - flags (u8): no flags are defined yet; senders write 0, receivers ignore the field so
 *   a later version can add flags without breaking older peers.
 * - reserved (u16): must be 0; a non-zero value is a protocol error (room for a future
 *   header change that old peers must not silently misread).
 * - stream id (u32): 0 addresses the link itself (PING, PONG, CONTROL, GOAWAY); any other
 *   value names a stream. The dialling side of a link opens odd ids, the accepting side
 *   even ids, each strictly increasing, so both ends can open streams without colliding.
 * - payload length (u32): bytes of payload after the header. DATA payloads are capped by
 *   the receiver's `maxFrameSize` setting; every other type by {@link MAX_CONTROL_PAYLOAD}.
 */

/** Bytes in a frame header. */
export const HEADER_SIZE = 12;

/** Largest payload of any non-DATA frame (CONTROL carries routing tables as JSON). */
export const MAX_CONTROL_PAYLOAD = 1024 * 1024;

/** Largest stream id; ids are never reused on one link. */
export const MAX_STREAM_ID = 0xffff_ffff;

/** Frame types (header byte 0) and the payload each carries. */
export const FrameType = {
  /** Stream bytes, in order. Payload: the bytes (may be empty). Consumes send credit. */
  DATA: 0,
  /** Grants the peer more send credit on a stream. Payload: u32 increment (bytes). */
  WINDOW: 1,
  /** Opens a stream. Payload: UTF-8 JSON `{ address: string, window: number, ...extra }`;
   *  `window` is the opener's receive window, i.e. the acceptor's initial send credit. */
  OPEN: 2,
  /** Accepts a stream. Payload: UTF-8 JSON `{ window: number }`, the acceptor's receive
   *  window, i.e. the opener's initial send credit (the opener has none before this). */
  OPEN_OK: 3,
  /** The sender sends no more DATA on this stream (half-close). No payload. */
  FIN: 4,
  /** Aborts a stream both ways. Payload: u32 code ({@link ResetCode}) + UTF-8 reason. */
  RESET: 5,
  /** Liveness / RTT probe, stream 0. Payload: 8 opaque bytes, echoed in the PONG. */
  PING: 6,
  /** Answer to PING, stream 0. Payload: the PING's 8 bytes. */
  PONG: 7,
  /** Link-level message for the routing layer, stream 0. Payload: UTF-8 JSON object. */
  CONTROL: 8,
  /** The sender will accept no new streams and is about to close the link, stream 0.
   *  Payload: u32 code ({@link ResetCode}) + UTF-8 reason. */
  GOAWAY: 9,
} as const;

export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Highest defined frame type; the decoder rejects anything above it. */
export const MAX_FRAME_TYPE = FrameType.GOAWAY;

const typeNames = [
  'DATA',
  'WINDOW',
  'OPEN',
  'OPEN_OK',
  'FIN',
  'RESET',
  'PING',
  'PONG',
  'CONTROL',
  'GOAWAY',
] as const;

/** The type's name for logs and errors ("type 42" for an unknown one). */
export function frameTypeName(type: number): string {
  return typeNames[type] ?? `type ${type}`;
}

/** True for the types that travel on stream 0 only. */
export function isLinkFrame(type: number): boolean {
  return type >= FrameType.PING;
}

/**
 * Codes carried by RESET (and GOAWAY). Stable on the wire: never renumber, only append.
 */
export const ResetCode = {
  /** The target refused the stream or cannot be reached (no listener, connect refused). */
  REFUSED: 1,
  /** The other end aborted the stream (its socket errored or was reset). */
  ABORTED: 2,
  /** A configured limit was hit (streams per link, ...). */
  LIMIT: 3,
  /** The peer broke the protocol (DATA beyond credit, malformed frame, ...). */
  PROTOCOL: 4,
  /** No route to any connector of the stream's address. */
  NO_ROUTE: 5,
  /** The link carrying the stream went down. */
  LINK_LOST: 6,
  /** Opening or dialling took too long. */
  TIMEOUT: 7,
  /** The router is shutting down or the link is being deleted. */
  SHUTDOWN: 8,
  /** The link's credential was revoked: do not reconnect (GOAWAY only). */
  REVOKED: 9,
} as const;

export type ResetCode = (typeof ResetCode)[keyof typeof ResetCode];

const resetNames = [
  '',
  'REFUSED',
  'ABORTED',
  'LIMIT',
  'PROTOCOL',
  'NO_ROUTE',
  'LINK_LOST',
  'TIMEOUT',
  'SHUTDOWN',
  'REVOKED',
] as const;

/** The code's name for logs ("code 42" for one this version does not know). */
export function resetCodeName(code: number): string {
  return (code > 0 && resetNames[code]) || `code ${code}`;
}

/** The open request carried by OPEN: where the stream goes, plus whatever routing adds. */
export interface OpenRequest {
  address: string;
  /** The opener's receive window (bytes): the acceptor's initial send credit. */
  window: number;
  [key: string]: unknown;
}
