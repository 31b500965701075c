import { ErrorCode, SkiffError } from '../errors.js';
import { FrameType, HEADER_SIZE, MAX_CONTROL_PAYLOAD } from './frame.js';

/**
 * Frame encoding. DATA frames are never built here: the mux writes their headers straight
 * into the message buffer it sends ({@link writeHeader}) and copies payloads behind them.
 * The builders below make the small non-DATA frames as one Buffer each (header + payload).
 */

/** Writes a frame header at `off` (flags and reserved are 0); returns the payload offset. */
export function writeHeader(
  buf: Buffer,
  off: number,
  type: number,
  streamId: number,
  len: number,
): number {
  buf[off] = type;
  buf[off + 1] = 0;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  buf.writeUInt32BE(streamId, off + 4);
  buf.writeUInt32BE(len, off + 8);
  return off + HEADER_SIZE;
}

/** One whole frame (header + a copy of `payload`) in a fresh buffer. */
export function encodeFrame(type: number, streamId: number, payload?: Buffer): Buffer {
  const len = payload ? payload.length : 0;
  const buf = Buffer.allocUnsafe(HEADER_SIZE + len);
  writeHeader(buf, 0, type, streamId, len);
  if (payload) payload.copy(buf, HEADER_SIZE);
  return buf;
}

/** A frame whose payload is one u32 (WINDOW). */
function u32Frame(type: number, streamId: number, value: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE + 4);
  writeHeader(buf, 0, type, streamId, 4);
  buf.writeUInt32BE(value, HEADER_SIZE);
  return buf;
}

/** A frame whose payload is u32 code + UTF-8 reason (RESET, GOAWAY). */
function codeReasonFrame(type: number, streamId: number, code: number, reason: string): Buffer {
  // Reasons are for people; cap them so a long error text cannot make an oversized frame.
  const text = reason.length > 1024 ? reason.slice(0, 1024) : reason;
  const len = 4 + Buffer.byteLength(text);
  const buf = Buffer.allocUnsafe(HEADER_SIZE + len);
  writeHeader(buf, 0, type, streamId, len);
  buf.writeUInt32BE(code, HEADER_SIZE);
  buf.write(text, HEADER_SIZE + 4);
  return buf;
}

/** A frame whose payload is a JSON document (OPEN, OPEN_OK, CONTROL). */
function jsonFrame(type: number, streamId: number, value: unknown): Buffer {
  const text = JSON.stringify(value);
  const len = Buffer.byteLength(text);
  if (len > MAX_CONTROL_PAYLOAD) {
    throw new SkiffError(
      ErrorCode.LIMIT,
      `frame payload of ${len} bytes exceeds the ${MAX_CONTROL_PAYLOAD}-byte limit for control frames`,
    );
  }
  const buf = Buffer.allocUnsafe(HEADER_SIZE + len);
  writeHeader(buf, 0, type, streamId, len);
  buf.write(text, HEADER_SIZE);
  return buf;
}

export function encodeWindow(streamId: number, increment: number): Buffer {
  return u32Frame(FrameType.WINDOW, streamId, increment);
}

export function encodeOpen(
  streamId: number,
  open: { address: string; window: number; [k: string]: unknown },
): Buffer {
  return jsonFrame(FrameType.OPEN, streamId, open);
}

export function encodeOpenOk(streamId: number, window: number, floor?: number): Buffer {
  return jsonFrame(
    FrameType.OPEN_OK,
    streamId,
    floor === undefined ? { window } : { window, floor },
  );
}

export function encodeFin(streamId: number): Buffer {
  return encodeFrame(FrameType.FIN, streamId);
}

export function encodeReset(streamId: number, code: number, reason: string): Buffer {
  return codeReasonFrame(FrameType.RESET, streamId, code, reason);
}

/** PING with 8 opaque bytes (the mux puts a timestamp there). */
export function encodePing(payload: Buffer): Buffer {
  return encodeFrame(FrameType.PING, 0, payload);
}

/** PONG echoing a PING's payload. */
export function encodePong(payload: Buffer): Buffer {
  return encodeFrame(FrameType.PONG, 0, payload);
}

export function encodeControl(msg: object): Buffer {
  return jsonFrame(FrameType.CONTROL, 0, msg);
}

export function encodeGoAway(code: number, reason: string): Buffer {
  return codeReasonFrame(FrameType.GOAWAY, 0, code, reason);
}
