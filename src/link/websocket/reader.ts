import { isUtf8 } from 'node:buffer';
import { ErrorCode, SkiffError } from '../../errors.js';
import { MAX_CONTROL_FRAME, Opcode } from './frames.js';

/** What a WebSocketReader reports. */
export interface ReaderEvents {
  /**
   * The next piece of a binary message's payload, `buf[start..end)` (a range rather than a
   * view: one object less per frame on the hot path); `last` on its final piece.
   */
  onData(buf: Buffer, start: number, end: number, last: boolean): void;
  /** A control frame (close, ping or pong) with its whole payload. */
  onControl(opcode: number, payload: Buffer): void;
}

/** A violation of RFC 6455 or of the link's limits; `status` is the close code to send. */
export class WebSocketProtocolError extends SkiffError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(ErrorCode.PROTOCOL, message);
  }
}

/** Close status codes used here (RFC 6455 7.4.1). */
export const CloseStatus = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL: 1002,
  UNSUPPORTED: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  INVALID_DATA: 1007,
  TOO_BIG: 1009,
} as const;

/**
 * Whether a peer may send `code` in a close frame (RFC 6455 7.4, as ws's validation.js has
 * it): the defined codes 1000-1014 except 1004 (reserved) and 1005, 1006 (never sent, they
 * stand for "no status" and "connection lost"), and the registered and private 3000-4999.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/**
 * Parses WebSocket frames from a byte stream that arrives in arbitrary chunks (TLS reads),
 * without joining them: a binary message's payload is handed on as views of the chunks, in
 * as many pieces as the chunks cut it into. Fragmented messages (continuation frames) and
 * control frames between fragments are handled, so an intermediary that re-frames is fine.
 * A non-zero masking key is undone in place: the chunks belong to the reader.
 *
 * Rejected (WebSocketProtocolError): RSV bits (no extension was negotiated), text
 * messages, unknown opcodes, a wrong masking for the side, a control frame that is
 * fragmented or over 125 bytes, a message over `maxMessage` bytes, a continuation with no
 * message or a new message inside one, a close frame with a 1-byte payload or a code a peer
 * may not send (1002), or a close reason that is not UTF-8 (1007; RFC 6455 5.5.1, 7.4).
 */
export class WebSocketReader {
  private readonly header = Buffer.alloc(14);
  private headerFill = 0;
  private inPayload = false;
  private opcode = 0;
  private fin = false;
  private remaining = 0;
  private mask = 0;
  /** Index into the masking key of the next payload byte. */
  private maskPos = 0;
  private readonly maskKey = Buffer.alloc(4);
  /** Bytes of the binary message in progress, or -1 when none is. */
  private messageBytes = -1;
  private controlParts: Buffer[] = [];

  /**
   * @param expectMasked the acceptor requires masked frames, the dialler unmasked ones.
   */
  constructor(
    private readonly expectMasked: boolean,
    private readonly maxMessage: number,
    private readonly events: ReaderEvents,
  ) {}

  /** Feeds the next chunk from the socket. Throws WebSocketProtocolError. */
  push(chunk: Buffer): void {
    const end = chunk.length;
    let off = 0;
    while (off < end) {
      if (this.inPayload) {
        off = this.payload(chunk, off);
        continue;
      }
      off = this.readHeader(chunk, off);
    }
  }

  /** Collects header bytes; starts the frame once the header is complete. */
  private readHeader(chunk: Buffer, off: number): number {
    const h = this.header;
    while (off < chunk.length) {
      h[this.headerFill++] = chunk[off++]!;
      if (this.headerFill < 2) continue;
      const len7 = h[1]! & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (h[1]! & 0x80 ? 4 : 0);
      if (this.headerFill < need) continue;
      this.headerFill = 0;
      this.startFrame(len7);
      return off;
    }
    return off;
  }

  private startFrame(len7: number): void {
    const h = this.header;
    const b0 = h[0]!;
    const masked = (h[1]! & 0x80) !== 0;
    if (b0 & 0x70) throw fail('a frame has RSV bits set (no extension was agreed)');
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (masked !== this.expectMasked) {
      throw fail(this.expectMasked ? 'the peer sent an unmasked frame' : 'the peer masked a frame');
    }
    let length = len7;
    let p = 2;
    if (len7 === 126) {
      length = h.readUInt16BE(2);
      p = 4;
    } else if (len7 === 127) {
      const high = h.readUInt32BE(2);
      if (high > 0x1fffff) throw fail('a frame length exceeds 2^53', CloseStatus.TOO_BIG);
      length = high * 2 ** 32 + h.readUInt32BE(6);
      p = 10;
    }
    this.mask = masked ? h.readUInt32BE(p) : 0;
    if (this.mask !== 0) h.copy(this.maskKey, 0, p, p + 4);
    this.maskPos = 0;

    if (opcode >= Opcode.CLOSE) {
      if (opcode > Opcode.PONG) throw fail(`unknown opcode ${opcode}`);
      if (!fin) throw fail('a fragmented control frame');
      if (length > MAX_CONTROL_FRAME) throw fail(`a ${length}-byte control frame`);
      if (opcode === Opcode.CLOSE && length === 1)
        throw fail('a close frame with a 1-byte payload');
    } else if (opcode === Opcode.BINARY) {
      if (this.messageBytes >= 0) throw fail('a new message started inside a fragmented one');
      this.messageBytes = 0;
    } else if (opcode === Opcode.CONTINUATION) {
      if (this.messageBytes < 0) throw fail('a continuation frame with no message to continue');
    } else if (opcode === Opcode.TEXT) {
      throw fail('the peer sent a text message', CloseStatus.UNSUPPORTED);
    } else {
      throw fail(`unknown opcode ${opcode}`);
    }
    if (opcode < Opcode.CLOSE) {
      this.messageBytes += length;
      if (this.messageBytes > this.maxMessage) {
        throw fail(
          `a message over the ${this.maxMessage}-byte limit (maxMessageSize)`,
          CloseStatus.TOO_BIG,
        );
      }
    }
    this.opcode = opcode;
    this.fin = fin;
    this.remaining = length;
    if (length > 0) {
      this.inPayload = true;
      return;
    }
    if (opcode >= Opcode.CLOSE) this.events.onControl(opcode, EMPTY);
    else if (fin) this.endMessage(EMPTY, 0, 0);
  }

  /** Takes payload bytes from chunk at off; returns the new offset. */
  private payload(chunk: Buffer, off: number): number {
    const n = Math.min(this.remaining, chunk.length - off);
    const end = off + n;
    if (this.mask !== 0) this.unmask(chunk, off, end);
    this.remaining -= n;
    const done = this.remaining === 0;
    if (done) this.inPayload = false;
    if (this.opcode >= Opcode.CLOSE) {
      this.controlParts.push(chunk.subarray(off, end));
      if (done) {
        const parts = this.controlParts;
        this.controlParts = [];
        const payload = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        if (this.opcode === Opcode.CLOSE) checkClose(payload);
        this.events.onControl(this.opcode, payload);
      }
    } else if (done && this.fin) {
      this.endMessage(chunk, off, end);
    } else {
      this.events.onData(chunk, off, end, false);
    }
    return end;
  }

  private endMessage(buf: Buffer, start: number, end: number): void {
    this.messageBytes = -1;
    this.events.onData(buf, start, end, true);
  }

  private unmask(buf: Buffer, start: number, end: number): void {
    const key = this.maskKey;
    let pos = this.maskPos;
    for (let i = start; i < end; i++) {
      buf[i] = buf[i]! ^ key[pos]!;
      pos = (pos + 1) & 3;
    }
    this.maskPos = pos;
  }
}

/** A close payload of two or more bytes: a code a peer may send, then a UTF-8 reason. */
function checkClose(payload: Buffer): void {
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code))
    throw fail(`a close frame with status ${code}, which a peer may not send`);
  if (!isUtf8(payload.subarray(2))) {
    throw fail('a close reason that is not valid UTF-8', CloseStatus.INVALID_DATA);
  }
}

function fail(message: string, status: number = CloseStatus.PROTOCOL): WebSocketProtocolError {
  return new WebSocketProtocolError(message, status);
}

const EMPTY = Buffer.alloc(0);
