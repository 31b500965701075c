/**
 * WebSocket framing as a link uses it (RFC 6455 section 5): binary messages only, no
 * extensions. Pure definitions and the header writer; reader.ts parses, socket.ts does I/O.
 */

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** The largest WebSocket frame header: 2 bytes, a 64-bit length, a masking key. */
export const WS_HEADROOM = 14;

/** Control frames (close, ping, pong) carry at most this many payload bytes. */
export const MAX_CONTROL_FRAME = 125;

/** Bytes of the header of a frame carrying `length` bytes. */
export function wsHeaderSize(length: number, masked: boolean): number {
  const base = length < 126 ? 2 : length < 65536 ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Writes a FIN frame header at `off`. A masked frame (the dialler's: RFC 6455 requires
 * clients to mask) gets the all-zero masking key, which makes masking a no-op: the link
 * already runs inside TLS, so the mask protects nothing and would cost a pass over every byte.
 */
export function writeWsHeader(
  buf: Buffer,
  off: number,
  length: number,
  masked: boolean,
  opcode: number = Opcode.BINARY,
): void {
  const maskBit = masked ? 0x80 : 0;
  buf[off] = 0x80 | opcode; // FIN; RSV bits 0: no extension
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

/** A whole small frame (close, ping, pong) with its payload. */
export function encodeWsFrame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const header = wsHeaderSize(payload.length, masked);
  const frame = Buffer.allocUnsafe(header + payload.length);
  writeWsHeader(frame, 0, payload.length, masked, opcode);
  payload.copy(frame, header);
  return frame;
}

/** A close frame's payload: the u16 status code and a UTF-8 reason cut to fit (whole characters). */
export function closePayload(code: number, reason: string): Buffer {
  let cut = reason.slice(0, MAX_CONTROL_FRAME - 2);
  while (Buffer.byteLength(cut) > MAX_CONTROL_FRAME - 2) cut = cut.slice(0, -1);
  const text = Buffer.from(cut, 'utf8');
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return payload;
}
