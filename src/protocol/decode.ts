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
 * Frame decoding. Messages are parsed in place: payloads handed to `onFrame` are
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
  const decoder = new FrameDecoder(maxFrameSize, onFrame);
  decoder.push(message);
  decoder.endMessage();
}

/**
 * Decodes frames from a message that arrives in pieces (the link hands over each TLS read
 * of a WebSocket message as it comes, rather than joining the message first).
 * - A DATA payload is delivered as it arrives, in one or more `onFrame` calls whose
 *   payloads together are the frame's bytes: views of the pieces, never copied. An empty
 *   DATA frame is one call with an empty payload.
 * - Every other frame is delivered once, whole: a view when it sits in one piece, else
 *   joined (control payloads are small).
 * - A frame never spans two messages: endMessage() throws if one is cut.
 * Errors are those of decodeFrames; after one, the decoder must not be used again.
 */
export class FrameDecoder {
  private readonly header = Buffer.alloc(HEADER_SIZE);
  private headerFill = 0;
  private inPayload = false;
  /** Bytes of the payload piece being delivered. */
  private lastPart = 0;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private length = 0;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** Parts of a split non-DATA payload. */
  private parts: Buffer[] = [];

  constructor(
    private readonly maxFrameSize: number,
    private readonly onFrame: FrameCallback,
  ) {}

  /**
   * During an onFrame call for DATA: whether this payload is the frame's first piece, and
   * the frame's whole length (a receiver charging per frame needs both).
   */
  get dataFrameStart(): boolean {
    return this.length - this.remaining <= this.lastPart;
  }

  get frameLength(): number {
    return this.length;
  }

  /** Feeds the next piece of the current message: `piece[start..end)`. */
  push(piece: Buffer, start = 0, end = piece.length): void {
    let off = start;
    while (off < end) {
      if (this.inPayload) {
        off = this.payload(piece, off, end);
        continue;
      }
      if (this.headerFill === 0 && end - off >= HEADER_SIZE) {
        this.startFrame(piece, off);
        off += HEADER_SIZE;
      } else {
        const n = Math.min(HEADER_SIZE - this.headerFill, end - off);
        piece.copy(this.header, this.headerFill, off, off + n);
        this.headerFill += n;
        off += n;
        if (this.headerFill < HEADER_SIZE) return;
        this.headerFill = 0;
        this.startFrame(this.header, 0);
      }
      if (this.remaining === 0) {
        this.lastPart = 0;
        this.deliver(EMPTY);
      } else this.inPayload = true;
    }
  }

  /** The message ended: it must have ended on a frame boundary. */
  endMessage(): void {
    if (this.headerFill > 0) {
      throw protocolError(`truncated frame header: ${this.headerFill} of ${HEADER_SIZE} bytes`);
    }
    if (this.inPayload) {
      const got = this.length - this.remaining;
      throw protocolError(
        `truncated ${frameTypeName(this.type)} payload: ${got} of ${this.length} bytes`,
      );
    }
  }

  private startFrame(buf: Buffer, off: number): void {
    const type = buf[off]!;
    if (buf[off + 2] !== 0 || buf[off + 3] !== 0) {
      throw protocolError('reserved header field is not zero');
    }
    const streamId = buf.readUInt32BE(off + 4);
    const len = buf.readUInt32BE(off + 8);
    if (type > MAX_FRAME_TYPE) throw protocolError(`unknown frame type ${type}`);
    if (type === FrameType.DATA) {
      if (len > this.maxFrameSize) {
        throw protocolError(`DATA frame of ${len} bytes exceeds maxFrameSize ${this.maxFrameSize}`);
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
    this.type = type;
    this.flags = buf[off + 1]!;
    this.streamId = streamId;
    this.length = len;
    this.remaining = len;
  }

  /** Takes payload bytes from piece[off..end); returns the new offset. */
  private payload(piece: Buffer, off: number, end: number): number {
    const n = Math.min(this.remaining, end - off);
    const part = piece.subarray(off, off + n);
    this.remaining -= n;
    this.lastPart = n;
    if (this.type === FrameType.DATA) {
      if (this.remaining === 0) this.inPayload = false;
      this.onFrame(FrameType.DATA, this.flags, this.streamId, part);
      return off + n;
    }
    if (this.remaining > 0) {
      this.parts.push(part);
      return off + n;
    }
    this.inPayload = false;
    if (this.parts.length === 0) {
      this.deliver(part);
    } else {
      this.parts.push(part);
      const whole = Buffer.concat(this.parts, this.length);
      this.parts = [];
      this.deliver(whole);
    }
    return off + n;
  }

  private deliver(payload: Buffer): void {
    this.onFrame(this.type, this.flags, this.streamId, payload);
  }
}

const EMPTY = Buffer.alloc(0);

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
