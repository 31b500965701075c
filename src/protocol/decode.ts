import { ErrorCode, SkiffError } from '../errors.js';
import {
  FrameType,
  frameTypeName,
  HEADER_SIZE,
  isLinkFrame,
  MAX_CONTROL_PAYLOAD,
  MAX_FRAME_TYPE,
} from './frame.js';

/**
 * Frame decoding. A message is parsed in place: payloads handed to `onFrame` are
 * `subarray` views of the message (no copies), valid as long as the caller keeps them.
 * Everything the header alone can prove wrong is rejected here with SkiffError(PROTOCOL);
 * what needs stream state (credit, unknown ids) is the mux's job.
 */

export type FrameCallback = (
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer,
) => void;

function protocolError(message: string): SkiffError {
  return new SkiffError(ErrorCode.PROTOCOL, message);
}

/** Payload sizes each non-DATA type must have: [min, max]. */
const payloadBounds: ReadonlyArray<readonly [number, number]> = [
  [0, 0], // DATA: checked against maxFrameSize instead
  [4, 4], // WINDOW: u32
  [2, MAX_CONTROL_PAYLOAD], // OPEN: JSON object, at least "{}"
  [2, MAX_CONTROL_PAYLOAD], // OPEN_OK: JSON object
  [0, 0], // FIN
  [4, MAX_CONTROL_PAYLOAD], // RESET: u32 + reason
  [8, 8], // PING
  [8, 8], // PONG
  [2, MAX_CONTROL_PAYLOAD], // CONTROL: JSON object
  [4, MAX_CONTROL_PAYLOAD], // GOAWAY: u32 + reason
];

/**
 * Splits one WebSocket message into frames and calls `onFrame` for each, in order.
 * Throws SkiffError(PROTOCOL) on a truncated header or payload, an unknown type, a
 * non-zero reserved field, a DATA payload over `maxFrameSize`, a payload of the wrong size
 * for its type, or a stream id that does not fit the type (0 for a stream frame, non-zero
 * for a link frame). Frames before the bad one have already been delivered.
 */
export function decodeFrames(message: Buffer, maxFrameSize: number, onFrame: FrameCallback): void {
  const end = message.length;
  let off = 0;
  while (off < end) {
    if (end - off < HEADER_SIZE) {
      throw protocolError(`truncated frame header: ${end - off} of ${HEADER_SIZE} bytes`);
    }
    const type = message[off]!;
    const flags = message[off + 1]!;
    if (message[off + 2] !== 0 || message[off + 3] !== 0) {
      throw protocolError('reserved header field is not zero');
    }
    const streamId = message.readUInt32BE(off + 4);
    const len = message.readUInt32BE(off + 8);
    if (type > MAX_FRAME_TYPE) throw protocolError(`unknown frame type ${type}`);
    if (type === FrameType.DATA) {
      if (len > maxFrameSize) {
        throw protocolError(`DATA frame of ${len} bytes exceeds maxFrameSize ${maxFrameSize}`);
      }
    } else {
      const [min, max] = payloadBounds[type]!;
      if (len < min || len > max) {
        throw protocolError(`${frameTypeName(type)} frame with a ${len}-byte payload`);
      }
    }
    if (isLinkFrame(type) ? streamId !== 0 : streamId === 0) {
      throw protocolError(`${frameTypeName(type)} frame on stream ${streamId}`);
    }
    const start = off + HEADER_SIZE;
    if (end - start < len) {
      throw protocolError(
        `truncated ${frameTypeName(type)} payload: ${end - start} of ${len} bytes`,
      );
    }
    off = start + len;
    onFrame(type, flags, streamId, message.subarray(start, off));
  }
}

/** Reads the u32 code and UTF-8 reason of a RESET or GOAWAY payload. */
export function decodeCodeReason(payload: Buffer): { code: number; reason: string } {
  return { code: payload.readUInt32BE(0), reason: payload.toString('utf8', 4) };
}

/** Parses a JSON payload that must be an object (OPEN, OPEN_OK, CONTROL). */
export function decodeJsonObject(payload: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new SkiffError(ErrorCode.PROTOCOL, `${what} payload is not valid JSON`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw protocolError(`${what} payload is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** True for a window or credit value that fits the wire's u32. */
export function isWindow(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}
