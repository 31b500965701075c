import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe } from '../../errors.js';
import type { MessageTransport } from '../../mux/transport.js';
import { HEADER_SIZE, MAX_CONTROL_PAYLOAD } from '../../protocol/frame.js';
import { countRead } from '../../runtime/gc-pacer.js';
import {
  closePayload,
  encodeWsFrame,
  Opcode,
  WS_HEADROOM,
  writeWsHeader,
  wsHeaderSize,
} from './frames.js';
import { CloseStatus, WebSocketProtocolError, WebSocketReader } from './reader.js';

export interface LinkSocketOptions {
  /** This end is the dialler: it masks what it sends (all-zero key) and expects no masks. */
  dialler: boolean;
  /** The largest message accepted from the peer. */
  maxMessage: number;
  /** Bytes that arrived with the handshake, already past it (the peer's first frames). */
  head?: Buffer;
}

/** The largest message a link accepts: a coalesced message, or one big CONTROL frame. */
export function maxLinkMessage(maxMessageSize: number): number {
  return Math.max(maxMessageSize, MAX_CONTROL_PAYLOAD + HEADER_SIZE) + 1024;
}

/** How long a closing end waits for the peer's close frame before dropping the socket. */
const CLOSE_WAIT_MS = 1000;

/**
 * One link's WebSocket after the handshake (handshake.ts), on its TLS socket. The mux sends
 * whole binary messages with their frame header written into the outbox's headroom, so
 * each message leaves in ONE socket write; received messages are handed on in pieces as
 * the TLS reads cut them (reader.ts), so nothing is joined or copied on the way in.
 * Answers pings, runs the close handshake, and reports the end once: `onClose`. Set the
 * handlers right after construction, in the same turn: reading starts on the next tick.
 *
 * Pongs are bounded: at most one is with the socket at a time. A ping that arrives while
 * one is unwritten is remembered (only the latest: RFC 6455 5.5.3 lets an endpoint answer
 * just the most recent ping) and reading stops until the socket took the pending pong, as
 * ws pauses its socket; so a peer that pings and does not read makes us hold at most two
 * pongs. The mux may pause reading too (pauseReading); reading resumes when neither holds.
 */
export class LinkSocket implements MessageTransport {
  readonly headroom = WS_HEADROOM;
  /** The next piece of a received binary message, `buf[start..end)`; `last` on its final piece. */
  onMessage: (buf: Buffer, start: number, end: number, last: boolean) => void = () => undefined;
  /** The connection ended: the peer's close status and reason, or 1006 and what broke. */
  onClose: (code: number, reason: string) => void = () => undefined;

  private readonly reader: WebSocketReader;
  private readonly masked: boolean;
  private open = true;
  private closeSent = false;
  /** Nothing more is read: a close frame or a protocol error was seen. */
  private ended = false;
  private finished = false;
  private closeCode: number = CloseStatus.ABNORMAL;
  private closeReason = '';
  /** The mux asked us to stop reading (its replies to the peer pile up). */
  private pausedByMux = false;
  /** A pong is with the socket and its write callback has not run. */
  private pongBusy = false;
  /** The payload of the latest ping that came while a pong was busy: answered next. */
  private pongNext: Buffer | undefined;

  constructor(
    private readonly socket: Duplex,
    opts: LinkSocketOptions,
  ) {
    this.masked = opts.dialler;
    this.reader = new WebSocketReader(!opts.dialler, opts.maxMessage, {
      onData: (buf, start, end, last) => this.onMessage(buf, start, end, last),
      onControl: (opcode, payload) => this.control(opcode, payload),
    });
    (socket as Partial<Socket>).setNoDelay?.(true);
    // The bytes that came with the handshake go first: unshifted, they are read before
    // anything else once the data listener starts the flow (on the next tick, after the
    // caller has set onMessage and onClose).
    if (opts.head !== undefined && opts.head.length > 0) socket.unshift(opts.head);
    socket.on('data', this.read);
    socket.on('error', (err) => {
      if (this.closeReason === '') this.closeReason = describe(err);
    });
    socket.on('end', () => socket.end());
    socket.on('close', () => this.finish());
  }

  headerSize(length: number): number {
    return wsHeaderSize(length, this.masked);
  }

  /** Whether messages may still be sent (no close started, socket not gone). */
  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Sends one binary message (`message.subarray(reserved)`), its header written into the
   * `reserved` bytes in front when they suffice. cb runs once the socket took the bytes.
   */
  send(message: Buffer, cb: (err?: Error | null) => void, reserved = 0): void {
    if (!this.open) {
      queueMicrotask(() => cb(new Error('link socket is closed')));
      return;
    }
    const length = message.length - reserved;
    const header = wsHeaderSize(length, this.masked);
    if (reserved >= header) {
      const start = reserved - header;
      writeWsHeader(message, start, length, this.masked);
      this.socket.write(start === 0 ? message : message.subarray(start), cb);
      return;
    }
    const framed = Buffer.allocUnsafe(header + length);
    writeWsHeader(framed, 0, length, this.masked);
    message.copy(framed, header, reserved);
    this.socket.write(framed, cb);
  }

  pauseReading(): void {
    this.pausedByMux = true;
    this.socket.pause();
  }

  resumeReading(): void {
    this.pausedByMux = false;
    if (this.pongNext === undefined) this.socket.resume();
  }

  /** Starts the close handshake; the socket is dropped if the peer does not answer in time. */
  close(code: number = CloseStatus.NORMAL, reason = ''): void {
    if (!this.open) return;
    this.open = false;
    this.closeCode = code;
    this.closeReason = reason;
    this.sendClose(code, reason);
    setTimeout(() => this.terminate(), CLOSE_WAIT_MS).unref();
  }

  /** Drops the connection at once. */
  terminate(): void {
    this.open = false;
    this.socket.destroy();
  }

  private readonly read = (chunk: Buffer): void => {
    countRead(chunk.length);
    if (this.ended) return;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.ended = true;
      const status = err instanceof WebSocketProtocolError ? err.status : CloseStatus.PROTOCOL;
      this.closeReason = `WebSocket protocol error: ${describe(err)}`;
      this.open = false;
      this.sendClose(status, describe(err));
      this.socket.end();
      setTimeout(() => this.terminate(), CLOSE_WAIT_MS).unref();
    }
  };

  private control(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.PING) {
      if (this.closeSent) return;
      if (!this.pongBusy) {
        this.sendPong(payload);
        return;
      }
      this.pongNext = Buffer.from(payload); // a view of the read buffer otherwise
      this.socket.pause();
      return;
    }
    if (opcode !== Opcode.CLOSE) return; // an unsolicited pong is allowed and means nothing
    this.ended = true;
    this.open = false;
    if (payload.length >= 2) {
      this.closeCode = payload.readUInt16BE(0);
      this.closeReason = payload.toString('utf8', 2);
    } else {
      this.closeCode = CloseStatus.NO_STATUS;
    }
    const echo = this.closeCode === CloseStatus.NO_STATUS ? CloseStatus.NORMAL : this.closeCode;
    this.sendClose(echo, '');
    this.socket.end();
  }

  private sendPong(payload: Buffer): void {
    this.pongBusy = true;
    this.socket.write(encodeWsFrame(Opcode.PONG, payload, this.masked), this.pongWritten);
  }

  private readonly pongWritten = (): void => {
    this.pongBusy = false;
    const next = this.pongNext;
    if (next === undefined) return;
    this.pongNext = undefined;
    if (!this.closeSent && !this.socket.destroyed) this.sendPong(next);
    if (!this.pausedByMux) this.socket.resume();
  };

  private sendClose(code: number, reason: string): void {
    if (this.closeSent || this.socket.destroyed) return;
    this.closeSent = true;
    this.socket.write(encodeWsFrame(Opcode.CLOSE, closePayload(code, reason), this.masked));
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.open = false;
    this.ended = true;
    this.onMessage = () => undefined;
    this.onClose(this.closeCode, this.closeReason);
  }
}
