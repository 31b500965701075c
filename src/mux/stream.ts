import type { Settings } from '../config/settings.js';
import type { Logger } from '../log.js';
import { encodeFin, encodeOpenOk, encodeReset, encodeWindow } from '../protocol/encode.js';
import { type OpenRequest, ResetCode, resetCodeName } from '../protocol/frame.js';
import type { BufferMeter } from './meter.js';
import type { DataSource, Outbox } from './outbox.js';

/*
 * Flow control
 * ============
 * Credit per stream, per direction, counted in DATA payload bytes, with a floor per frame.
 *
 * - Each side announces its receive window (settings.streamWindow): the opener in OPEN,
 *   the acceptor in OPEN_OK. The announced window is the other side's initial send credit.
 *   The opener has no credit until OPEN_OK arrives; the acceptor none until it accepts.
 * - Sending DATA spends credit. write() never drops data: bytes beyond the credit wait in
 *   the stream's queue, and write() returns false so the caller pauses its source (a TCP
 *   socket) until onDrain(). At most one source chunk beyond the credit is held.
 * - The receiver counts bytes delivered with onData() but not yet reported by consumed()
 *   (the consumer calls it once its socket flushed them). Consumed bytes are granted back
 *   with WINDOW, so a reader that stops reading stops the sender after one window, and
 *   the receiving router never holds more than streamWindow bytes for the stream.
 * - Grant policy: consumed bytes are batched and granted once they reach window/4 (a few
 *   WINDOW frames per window, never a trickle). If the peer has spent all its credit
 *   (it is certainly waiting) they are granted as soon as they reach
 *   min(window/4, maxFrameSize): one full frame, so a slow consumer still gets data in
 *   useful pieces without silly-window dribbles.
 * - The receiver enforces the credit: DATA beyond what it granted resets the stream with
 *   PROTOCOL (the peer is broken or hostile; its bytes would be unbounded memory).
 * - Per-frame charge: a DATA frame of n payload bytes spends max(n, floor) credit, where
 *   floor is the receiver's, announced as `floor` in its OPEN (opener) or OPEN_OK
 *   (acceptor): min(DATA_FLOOR, window / 8), so 1 KiB with the default window. A frame
 *   costs its receiver a fixed amount of CPU and memory whatever its size (decode, a view,
 *   a handler call), so without a floor a window of 1-byte frames is two million of them;
 *   with it a window holds at most window / floor frames and costs about what a window of
 *   large frames costs. Empty DATA frames are charged the floor too. The receiver always
 *   enforces its floor (a hostile peer cannot opt out); a sender charges the floor its
 *   peer announced, 0 if none (a router from before the floor), so new senders work with
 *   old receivers. Charged bytes come back with the WINDOW grants as the payload is
 *   consumed (the excess over the payload in proportion), so credit is conserved.
 *   A sender never cuts a frame below the floor except the last bytes it may send, and
 *   keeps one floor of credit in hand for that last frame (readyFor below).
 * - Per link, the outbox adds a second limit (linkHighWater, see outbox.ts): when the
 *   link is congested write() returns false too, and onDrain() follows once it clears.
 */

/** Where a stream is. Every change is logged (debug) with link and stream ids. */
export enum StreamState {
  /** We sent OPEN and wait for OPEN_OK: no send credit yet, writes are queued. */
  Opening = 0,
  /** The peer sent OPEN; our handler has not accepted or reset it yet. */
  Accepting = 1,
  /** Data flows both ways. */
  Open = 2,
  /** We called end(): our FIN follows our queued data; the peer may still send. */
  LocalEnded = 3,
  /** The peer sent FIN: nothing more arrives, we may still send. */
  RemoteEnded = 4,
  /** Both sides ended; waiting for our FIN to leave and the consumer to consume. */
  BothEnded = 5,
  /** Finished or reset and removed from the link's table. Terminal. */
  Closed = 6,
}

const stateNames = [
  'opening',
  'accepting',
  'open',
  'local-ended',
  'remote-ended',
  'both-ended',
  'closed',
];

/** What the owner of a stream hears from it. */
export interface StreamHandler {
  /** OPEN_OK arrived: the stream is open and has send credit (opener side only). */
  onOpen(): void;
  /** Bytes from the peer, in order. Report them with stream.consumed() once flushed. */
  onData(chunk: Buffer): void;
  /** The peer sent FIN: no more data arrives. Our direction stays open. */
  onEnd(): void;
  /** The stream was reset by the peer, the mux (protocol error) or the link going down. */
  onReset(code: number, reason: string): void;
  /** write() may be called again after it returned false. */
  onDrain(): void;
  /** The stream finished (both FINs and everything consumed) or was reset, and was removed. */
  onClose?(): void;
}

/** What a stream needs from its mux (kept as an interface so stream.ts does not import mux.ts). */
export interface StreamHost {
  readonly outbox: Outbox;
  readonly settings: Settings;
  readonly meter: BufferMeter | undefined;
  readonly logger: Logger;
  /** Drops the stream from the table. */
  removeStream(stream: MuxStream): void;
  /** Calls stream.maybeDrain() once the link is no longer congested. */
  waitForLink(stream: MuxStream): void;
  /** Runs stream.maybeFinish() after the current flush (no handler calls inside a flush). */
  finishLater(stream: MuxStream): void;
  /** We refused a stream the peer opened (counted against settings.peerRefusedRate). */
  refused(): void;
}

const nullHandler: StreamHandler = {
  onOpen() {},
  onData() {},
  onEnd() {},
  onReset() {},
  onDrain() {},
};

/** One stream of a link: both directions, their credit, and the queue of unsent bytes. */
export class MuxStream implements DataSource {
  readonly id: number;
  /** The open request (for the opener, as sent, window included). */
  readonly open: OpenRequest;
  state: StreamState;
  /** The reset code once reset (by either side or the link), else undefined. */
  resetCode: number | undefined;

  outboxReady = 0;
  outboxPlanned = 0;
  outboxQueued = false;
  outboxNext: DataSource | undefined;
  /** Credit each DATA frame we send spends at least: the peer's announced floor, else 0. */
  sendFloor = 0;

  private readonly host: StreamHost;
  private handler: StreamHandler;

  // send side: chunks[chunkHead..chunkTail) are queued. The array keeps its length when it
  // empties (taken slots hold EMPTY), so a request/response stream reuses it instead of
  // growing a new backing store for every message.
  private chunks: Buffer[] = [];
  private chunkHead = 0;
  private chunkTail = 0;
  private headOffset = 0;
  private queuedBytes = 0;
  private sendCredit = 0;
  /** Acceptor: the opener's window, our send credit once we accept. */
  private peerWindow = 0;
  private localEnded = false;
  private finSent = false;
  private wantDrain = false;

  // receive side
  private readonly window: number;
  /** Our per-frame charge floor (announced in OPEN or OPEN_OK). */
  readonly recvFloor: number;
  /** Credit the peer may still spend. */
  private recvCredit = 0;
  /** Payload bytes delivered by onData and not yet consumed. */
  private unconsumed = 0;
  /** Credit charged beyond the payload for the unconsumed frames (the floor's excess). */
  private unconsumedExcess = 0;
  /** Consumed bytes not yet granted back. */
  private unreported = 0;
  private remoteEnded = false;

  /** @internal Created by the Mux only. */
  constructor(
    host: StreamHost,
    id: number,
    open: OpenRequest,
    state: StreamState.Opening | StreamState.Accepting,
    handler: StreamHandler = nullHandler,
  ) {
    this.host = host;
    this.id = id;
    this.open = open;
    this.state = state;
    this.handler = handler;
    this.window = host.settings.streamWindow;
    this.recvFloor = dataFloor(this.window);
    if (state === StreamState.Opening) this.recvCredit = this.window;
    else {
      this.peerWindow = open.window;
      this.sendFloor = typeof open.floor === 'number' ? open.floor : 0;
    }
  }

  /** Received-not-consumed plus queued-unsent bytes of this stream. */
  get bufferedBytes(): number {
    return this.unconsumed + this.unconsumedExcess + this.queuedBytes;
  }

  /** Sets who hears this stream's events (the onStream hook does it before returning). */
  setHandler(handler: StreamHandler): void {
    this.handler = handler;
  }

  /** Acceptor: opens the stream (OPEN_OK with our window). */
  accept(): void {
    if (this.state !== StreamState.Accepting) return;
    this.setState(this.openState());
    this.recvCredit = this.window;
    this.host.outbox.pushControl(encodeOpenOk(this.id, this.window, this.recvFloor));
    this.sendCredit = this.peerWindow;
    this.updateReady();
    this.maybeSendFin();
    if (this.wantDrain) queueMicrotask(() => this.maybeDrain());
  }

  /**
   * Queues bytes for the peer (the chunk is kept, not copied: do not modify it). Sends
   * within credit at the next flush. Returns false when the caller should pause its
   * source: bytes wait beyond the credit, or the link is congested; onDrain() follows.
   */
  write(chunk: Buffer): boolean {
    if (this.state === StreamState.Closed || this.localEnded) {
      if (this.state !== StreamState.Closed) {
        this.host.logger.warn({ stream: this.id }, 'write after end ignored');
      }
      return false;
    }
    const n = chunk.length;
    if (n > 0) {
      this.chunks[this.chunkTail++] = chunk;
      this.queuedBytes += n;
      this.host.outbox.queuedDataBytes += n;
      this.host.meter?.add(n);
      this.updateReady();
    }
    if (this.queuedBytes > this.sendCredit) {
      this.wantDrain = true;
      return false;
    }
    if (this.host.outbox.checkCongested()) {
      this.wantDrain = true;
      this.host.waitForLink(this);
      return false;
    }
    return true;
  }

  /** Half-closes our direction: FIN goes after the queued data. */
  end(): void {
    if (this.state === StreamState.Closed || this.localEnded) return;
    this.localEnded = true;
    if (this.state >= StreamState.Open) this.setState(this.openState());
    this.maybeSendFin();
  }

  /** Aborts the stream both ways: RESET to the peer, queued data dropped, onClose. */
  reset(code: number, reason: string): void {
    if (this.state === StreamState.Closed) return;
    if (this.state === StreamState.Accepting) this.host.refused();
    this.host.outbox.pushControl(encodeReset(this.id, code, reason));
    this.host.logger.debug(
      { stream: this.id, code: resetCodeName(code), reason },
      'stream reset locally',
    );
    this.close(code);
    this.handler.onClose?.();
  }

  /** The consumer flushed n received bytes: credit them back to the peer (see policy above). */
  consumed(n: number): void {
    if (this.state === StreamState.Closed || n <= 0) return;
    if (n > this.unconsumed) n = this.unconsumed;
    let units = n;
    if (this.unconsumedExcess > 0) {
      const excess =
        n === this.unconsumed
          ? this.unconsumedExcess
          : Math.floor((this.unconsumedExcess * n) / this.unconsumed);
      this.unconsumedExcess -= excess;
      units += excess;
    }
    this.unconsumed -= n;
    this.host.meter?.sub(units);
    if (this.remoteEnded) {
      this.maybeFinish();
      return;
    }
    this.grant(units);
  }

  /** Credits `units` back to the peer, batched (see the grant policy above). */
  private grant(units: number): void {
    const unreported = this.unreported + units;
    const quarter = this.window >>> 2 || 1;
    let threshold = quarter;
    // Below its floor the peer cannot send a frame: it is certainly waiting.
    if (this.recvCredit < (this.recvFloor || 1)) {
      const frame = this.host.settings.maxFrameSize;
      threshold = Math.min(frame, quarter);
    }
    if (unreported >= threshold) {
      this.unreported = 0;
      this.recvCredit += unreported;
      this.host.outbox.pushControl(encodeWindow(this.id, unreported));
    } else {
      this.unreported = unreported;
    }
  }

  // ---- called by the outbox ----

  /** @internal */
  takeInto(dst: Buffer, off: number, n: number): void {
    const total = n;
    const chunks = this.chunks;
    while (n > 0) {
      const chunk = chunks[this.chunkHead]!;
      const left = chunk.length - this.headOffset;
      if (n < left) {
        chunk.copy(dst, off, this.headOffset, this.headOffset + n);
        this.headOffset += n;
        break;
      }
      chunk.copy(dst, off, this.headOffset);
      off += left;
      n -= left;
      chunks[this.chunkHead] = EMPTY;
      this.chunkHead++;
      this.headOffset = 0;
    }
    if (this.chunkHead === this.chunkTail) {
      this.chunkHead = 0;
      this.chunkTail = 0;
      if (chunks.length > MAX_IDLE_CHUNK_SLOTS) this.chunks = [];
    } else if (this.chunkHead > 64 && this.chunkHead * 2 > this.chunkTail) {
      this.chunks = chunks.slice(this.chunkHead, this.chunkTail);
      this.chunkTail -= this.chunkHead;
      this.chunkHead = 0;
    }
    this.queuedBytes -= total;
    this.sendCredit -= Math.max(total, this.sendFloor);
    this.host.outbox.queuedDataBytes -= total;
    this.updateReady();
    if (this.queuedBytes === 0 && this.localEnded && !this.finSent) {
      this.finSent = true;
      this.host.outbox.pushControl(encodeFin(this.id));
      if (this.remoteEnded) this.host.finishLater(this);
    }
  }

  // ---- called by the mux when frames arrive ----

  /** @internal `frameLength`: the whole frame's length on its first piece, else -1. */
  handleData(payload: Buffer, frameLength: number): void {
    const n = payload.length;
    if (this.remoteEnded) {
      this.protocolReset('DATA after FIN');
      return;
    }
    // A frame's payload may come in pieces: its first piece carries the floor's excess.
    const charge =
      frameLength >= 0 && frameLength < this.recvFloor ? n + this.recvFloor - frameLength : n;
    if (charge > this.recvCredit) {
      this.protocolReset(
        `DATA of ${n} bytes (charged ${charge}) beyond the ${this.recvCredit} bytes of credit granted`,
      );
      return;
    }
    this.recvCredit -= charge;
    if (n === 0) {
      this.grant(charge); // nothing to consume: the charge comes back at once
      return;
    }
    this.unconsumed += n;
    this.unconsumedExcess += charge - n;
    this.host.meter?.add(charge);
    this.handler.onData(payload);
  }

  /** @internal */
  handleWindow(increment: number): void {
    if (this.state === StreamState.Opening) {
      this.protocolReset('WINDOW before OPEN_OK');
      return;
    }
    if (this.state === StreamState.Accepting) {
      this.peerWindow += increment; // becomes send credit when we accept
      return;
    }
    if (this.finSent) return;
    if (this.sendCredit + increment > 0xffff_ffff) {
      this.protocolReset('WINDOW overflows the send credit');
      return;
    }
    this.sendCredit += increment;
    this.updateReady();
    this.maybeDrain();
  }

  /** @internal */
  handleOpenOk(window: number, floor: number): void {
    if (this.state !== StreamState.Opening) {
      this.protocolReset('unexpected OPEN_OK');
      return;
    }
    this.sendCredit = window;
    this.sendFloor = floor;
    this.setState(this.openState());
    this.handler.onOpen();
    if ((this.state as StreamState) === StreamState.Closed) return; // the handler reset it
    this.updateReady();
    this.maybeSendFin();
    this.maybeDrain();
  }

  /** @internal */
  handleFin(): void {
    if (this.remoteEnded) {
      this.protocolReset('FIN after FIN');
      return;
    }
    this.remoteEnded = true;
    this.unreported = 0;
    if (this.state >= StreamState.Open) this.setState(this.openState());
    this.handler.onEnd();
    this.maybeFinish();
  }

  /** @internal The peer reset the stream. */
  handleReset(code: number, reason: string): void {
    this.host.logger.debug(
      { stream: this.id, code: resetCodeName(code), reason },
      'stream reset by peer',
    );
    this.close(code);
    this.handler.onReset(code, reason);
    this.handler.onClose?.();
  }

  /** @internal The link went down: no frames are sent, the handler hears the code. */
  terminate(code: number, reason: string): void {
    if (this.state === StreamState.Closed) return;
    this.close(code);
    this.handler.onReset(code, reason);
    this.handler.onClose?.();
  }

  /** @internal A stream that never reached the wire (link closed, limit): reset soon. */
  failSoon(code: number, reason: string): void {
    this.state = StreamState.Closed;
    this.resetCode = code;
    setImmediate(() => {
      this.handler.onReset(code, reason);
      this.handler.onClose?.();
    });
  }

  /** @internal Tells a paused writer to resume if it may. */
  maybeDrain(): void {
    if (!this.wantDrain || this.state === StreamState.Closed) return;
    if (this.queuedBytes > this.sendCredit) return; // a WINDOW will call again
    if (this.host.outbox.congested) {
      this.host.waitForLink(this);
      return;
    }
    this.wantDrain = false;
    this.handler.onDrain();
  }

  /** @internal Removes the stream once both FINs passed and everything was consumed. */
  maybeFinish(): void {
    if (this.state === StreamState.Closed) return;
    if (!this.finSent || !this.remoteEnded || this.unconsumed > 0) return;
    this.setState(StreamState.Closed);
    this.host.removeStream(this);
    this.handler.onClose?.();
  }

  // ---- internals ----

  /** The state of an opened stream, from which directions have ended. */
  private openState(): StreamState {
    if (this.localEnded) return this.remoteEnded ? StreamState.BothEnded : StreamState.LocalEnded;
    return this.remoteEnded ? StreamState.RemoteEnded : StreamState.Open;
  }

  private maybeSendFin(): void {
    if (!this.localEnded || this.finSent || this.queuedBytes > 0) return;
    if (this.state === StreamState.Opening || this.state === StreamState.Accepting) return;
    this.finSent = true;
    this.host.outbox.pushControl(encodeFin(this.id));
    this.maybeFinish();
  }

  private updateReady(): void {
    const ready = readyFor(this.queuedBytes, this.sendCredit, this.sendFloor);
    if (ready !== this.outboxReady) this.host.outbox.setReady(this, ready);
  }

  /** Resets the stream because the peer broke the protocol on it; the handler hears it too. */
  private protocolReset(reason: string): void {
    this.host.logger.warn({ stream: this.id, reason }, 'peer broke the protocol on a stream');
    this.host.outbox.pushControl(encodeReset(this.id, ResetCode.PROTOCOL, reason));
    this.close(ResetCode.PROTOCOL);
    this.handler.onReset(ResetCode.PROTOCOL, reason);
    this.handler.onClose?.();
  }

  /** Drops every buffered byte and leaves the table. */
  private close(code: number): void {
    this.resetCode = code;
    this.setState(StreamState.Closed);
    const meter = this.host.meter;
    if (this.queuedBytes > 0) {
      meter?.sub(this.queuedBytes);
      this.host.outbox.queuedDataBytes -= this.queuedBytes;
      this.queuedBytes = 0;
      this.chunks = [];
      this.chunkHead = 0;
      this.chunkTail = 0;
      this.headOffset = 0;
    }
    this.updateReady();
    if (this.unconsumed > 0) {
      meter?.sub(this.unconsumed + this.unconsumedExcess);
      this.unconsumed = 0;
      this.unconsumedExcess = 0;
    }
    this.host.removeStream(this);
  }

  private setState(next: StreamState): void {
    if (next === this.state) return;
    const logger = this.host.logger;
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        { stream: this.id, from: stateNames[this.state], to: stateNames[next] },
        'stream state',
      );
    }
    this.state = next;
  }
}

/** The largest per-frame charge floor a receiver uses or a sender accepts from a peer. */
export const DATA_FLOOR = 1024;

/** A receiver's floor for its window: at least eight frames fit in any window. */
export function dataFloor(window: number): number {
  return Math.min(DATA_FLOOR, window >>> 3);
}

/**
 * Payload bytes a sender may hand the outbox with `credit` and the peer's `floor`. The
 * outbox cuts frames no shorter than the floor except the last one, so all but one frame
 * are charged their length and the last at most the floor: ready + floor <= credit covers
 * it, and a queue shorter than the floor goes as one frame charged the floor.
 */
export function readyFor(queued: number, credit: number, floor: number): number {
  if (floor === 0 || queued === 0) return Math.min(queued, credit);
  if (credit < floor) return 0;
  if (queued <= floor) return queued;
  const ready = Math.min(queued, credit - floor);
  return Math.max(ready, floor);
}

const EMPTY = Buffer.alloc(0);
/** An emptied send queue longer than this is dropped rather than kept for reuse. */
const MAX_IDLE_CHUNK_SLOTS = 64;
