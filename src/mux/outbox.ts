import type { Logger } from '../log.js';
import type { LinkCounters } from '../metrics/link-counters.js';
import { writeHeader } from '../protocol/encode.js';
import { FrameType, HEADER_SIZE } from '../protocol/frame.js';
import type { BufferMeter } from './meter.js';
import type { MessageTransport } from './transport.js';

/**
 * A stream as the outbox sees it: a FIFO of bytes, of which `outboxReady` may go now
 * (queued and within send credit). The stream reports that figure with setReady().
 */
export interface DataSource {
  readonly id: number;
  /** Last figure given to setReady(); owned by the outbox. */
  outboxReady: number;
  /** Bytes already picked for the message being built; owned by the outbox. */
  outboxPlanned: number;
  /** Whether the source is in the outbox's ready queue, and its successor there. */
  outboxQueued: boolean;
  outboxNext: DataSource | undefined;
  /** Credit a DATA frame spends at least (stream.ts): no frame is cut shorter, but the last. */
  readonly sendFloor: number;
  /** Copies the next n queued bytes into dst at off, charging them to send credit. */
  takeInto(dst: Buffer, off: number, n: number): void;
}

export interface OutboxOptions {
  transport: MessageTransport;
  maxMessageSize: number;
  maxFrameSize: number;
  linkHighWater: number;
  meter: BufferMeter | undefined;
  /** Counts what is handed to the transport: bytes and frames of each message. */
  counters: LinkCounters;
  logger: Logger;
}

/**
 * The coalescing writer of one link. Frames wait here until the next `setImmediate`, so
 * what many sockets' I/O callbacks produce in one loop turn shares messages; each message
 * is ONE Buffer of at most maxMessageSize (a lone control frame may exceed it) into which
 * control frames and DATA headers and payloads are copied once.
 *
 * Message buffers: when the transport frames messages itself (`transport.headroom`), each
 * message is built behind that many spare bytes, so the transport's header and the message
 * leave in one write, and buffers of large messages come from a small per-link pool and go
 * back to it when the transport's callback runs. Allocating a fresh 256 KiB buffer per
 * message made V8 run a major GC every ~64 MiB sent (ArrayBuffer memory counts towards its
 * limits), which cost more CPU than the encryption (docs/performance.md).
 *
 * At most MAX_INFLIGHT_MESSAGES messages are with the transport at once; the next is built
 * when one completes, from whatever has queued meanwhile (so a busy link sends big ones).
 *
 * Two queues:
 * - control frames (everything but DATA), pre-encoded, sent in order and not held back by
 *   linkHighWater, only by the message limit above (they lead the next message); many of
 *   them answer the peer's frames, so their bytes count towards the load and the mux
 *   stops reading from a peer whose replies pile up (replyLoad);
 * - ready streams, served round robin one frame at a time so a bulk stream cannot starve
 *   the others. DATA is only pulled while the bytes handed to the transport and not yet
 *   confirmed (`inflightBytes`) stay under linkHighWater; the rest waits in its stream.
 * Within one message control frames come first; a stream's FIN is queued as a control
 * frame only once its data has been taken, so it always follows that data.
 *
 * Congestion: the link's load is control + ready + inflight bytes. Above linkHighWater the
 * link is congested (writers are told to stop); below half of it `onUncongested` runs.
 */
export class Outbox {
  /** Bytes passed to transport.send whose callback has not run yet. */
  inflightBytes = 0;
  /** The DATA payload bytes among inflightBytes. */
  inflightDataBytes = 0;
  /** Messages passed to transport.send whose callback has not run yet. */
  inflightMessages = 0;
  /** Bytes of queued control frames. */
  controlBytes = 0;
  /** Sum of every source's outboxReady. */
  readyBytes = 0;
  /** DATA bytes queued in streams, with or without credit (for stats). */
  queuedDataBytes = 0;
  congested = false;
  /** Runs at the end of each flush, outside it: the mux's place for deferred callbacks. */
  onFlushed: () => void = () => undefined;
  /** Runs when a congested link falls below half of linkHighWater. */
  onUncongested: () => void = () => undefined;
  /** Runs each time the transport took a message (its callback ran). */
  onSent: () => void = () => undefined;

  private readonly opts: OutboxOptions;
  /** Largest DATA payload we send: our maxFrameSize, or the peer's if smaller. */
  private frameSize: number;
  private control: Buffer[] = [];
  private controlHead = 0;
  /**
   * Ready sources, FIFO, linked through the sources themselves: a Set's add/delete per
   * message rebuilt its hash table every few messages (an allocation per request/response
   * in the RTT profile). A source whose ready figure drops to 0 stays linked until it
   * reaches the head, where it is dropped.
   */
  private readyHead: DataSource | undefined;
  private readyTail: DataSource | undefined;
  private readonly pickSource: (DataSource | undefined)[] = [];
  private readonly pickLength: number[] = [];
  private scheduled = false;
  private flushing = false;
  private closed = false;
  /** Spare bytes in front of each built message (transport.headroom), or -1: no reuse. */
  private readonly headroom: number;
  /** Free message buffers of `headroom + maxMessageSize` bytes. */
  private readonly pool: Buffer[] = [];
  /** Messages with the transport, oldest at sentHead: bytes, DATA bytes, pool buffer. */
  private sentHead = 0;
  private readonly sentSize: number[] = new Array(MAX_INFLIGHT_MESSAGES).fill(0);
  private readonly sentData: number[] = new Array(MAX_INFLIGHT_MESSAGES).fill(0);
  private readonly sentBuffer: (Buffer | undefined)[] = new Array(MAX_INFLIGHT_MESSAGES);

  constructor(opts: OutboxOptions) {
    this.opts = opts;
    this.frameSize = opts.maxFrameSize;
    const headroom = opts.transport.headroom;
    this.headroom = headroom === undefined ? -1 : headroom;
  }

  /** Caps outgoing DATA frames at the peer's maxFrameSize once it is known. */
  limitFrameSize(peerMax: number): void {
    this.frameSize = Math.max(1, Math.min(this.opts.maxFrameSize, peerMax));
  }

  /** Bytes held for the link: what decides congestion. */
  get load(): number {
    return this.controlBytes + this.readyBytes + this.inflightBytes;
  }

  /**
   * Non-DATA bytes held for the link, queued or with the transport: what a peer's frames
   * can make us queue in reply (PONG, RESET, WINDOW, OPEN_OK...). The mux stops reading
   * from a peer while this is over linkHighWater.
   */
  get replyLoad(): number {
    return this.controlBytes + this.inflightBytes - this.inflightDataBytes;
  }

  /** Queues one encoded non-DATA frame for the next flush. */
  pushControl(frame: Buffer): void {
    if (this.closed) return;
    this.control.push(frame);
    this.controlBytes += frame.length;
    this.schedule();
  }

  /** Records how many bytes `source` may send now. */
  setReady(source: DataSource, bytes: number): void {
    this.readyBytes += bytes - source.outboxReady;
    source.outboxReady = bytes;
    if (bytes > 0 && !this.closed) {
      if (!source.outboxQueued) this.enqueue(source);
      this.schedule();
    }
  }

  /** Whether writers must stop now (sets the congested flag when load passes highWater). */
  checkCongested(): boolean {
    if (!this.congested && this.load > this.opts.linkHighWater) this.congested = true;
    return this.congested;
  }

  /** Drops everything queued; in-flight messages still settle the meter when they complete. */
  close(): void {
    this.closed = true;
    this.control = [];
    this.controlHead = 0;
    this.controlBytes = 0;
    for (let source = this.dequeue(); source !== undefined; source = this.dequeue()) {
      source.outboxReady = 0;
    }
    this.readyBytes = 0;
    this.pool.length = 0;
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.closed) return;
    this.flushing = true;
    try {
      while (this.sendOne()) {
        // each round sends one message
      }
    } finally {
      this.flushing = false;
    }
    this.onFlushed();
    this.maybeUncongest();
  };

  /** Builds and sends one message; false when there was nothing to send (or no room). */
  private sendOne(): boolean {
    if (this.inflightMessages >= MAX_INFLIGHT_MESSAGES) return false;
    const { maxMessageSize, linkHighWater } = this.opts;
    const maxFrameSize = this.frameSize;
    const control = this.control;
    let size = 0;
    const controlStart = this.controlHead;
    let controlEnd = controlStart;
    while (controlEnd < control.length) {
      const n = control[controlEnd]!.length;
      if (size > 0 && size + n > maxMessageSize) break;
      size += n;
      controlEnd++;
    }
    const controlSize = size;

    // Plan DATA frames round robin; a source moved to the back of the queue is visited
    // again in this loop, and every pick shrinks the room, so the loop ends.
    let picks = 0;
    while (this.readyHead !== undefined) {
      const room = maxMessageSize - size - HEADER_SIZE;
      if (room <= 0 || this.inflightBytes + size >= linkHighWater) break;
      const source = this.dequeue()!;
      const avail = source.outboxReady - source.outboxPlanned;
      if (avail <= 0) continue;
      let n = Math.min(avail, maxFrameSize);
      if (n > room) n = room;
      if (n < avail && n < source.sendFloor) {
        this.enqueue(source); // a frame this short would be charged more than it carries
        break;
      }
      this.pickSource[picks] = source;
      this.pickLength[picks] = n;
      picks++;
      source.outboxPlanned += n;
      size += HEADER_SIZE + n;
      if (n < avail) this.enqueue(source);
    }
    if (size === 0) return false;

    let message: Buffer;
    let off = 0;
    let reserved = 0;
    let pooled = false;
    if (picks === 0 && controlEnd - controlStart === 1) {
      message = control[controlStart]!; // a lone control frame goes as it is
    } else {
      if (this.headroom < 0) {
        message = Buffer.allocUnsafe(size);
      } else {
        pooled = this.usePool(this.headroom + size);
        if (pooled) {
          reserved = this.headroom;
          message = this.pool.pop() ?? this.newPoolBuffer();
        } else {
          reserved = this.opts.transport.headerSize?.(size) ?? this.headroom;
          message = Buffer.allocUnsafe(reserved + size);
        }
        off = reserved;
      }
      for (let i = controlStart; i < controlEnd; i++) {
        const frame = control[i]!;
        frame.copy(message, off);
        off += frame.length;
      }
    }
    this.consumeControl(controlEnd, controlSize);

    let dataBytes = 0;
    for (let i = 0; i < picks; i++) {
      const source = this.pickSource[i]!;
      const n = this.pickLength[i]!;
      this.pickSource[i] = undefined;
      source.outboxPlanned = 0;
      off = writeHeader(message, off, FrameType.DATA, source.id, n);
      source.takeInto(message, off, n);
      off += n;
      dataBytes += n;
    }

    // What sent() settles, kept in send order (the transport completes in that order)
    // rather than in a closure per message.
    const slot = (this.sentHead + this.inflightMessages) % MAX_INFLIGHT_MESSAGES;
    this.sentSize[slot] = size;
    this.sentData[slot] = dataBytes;
    this.sentBuffer[slot] = pooled ? message : undefined;
    this.inflightBytes += size;
    this.inflightDataBytes += dataBytes;
    this.inflightMessages++;
    const counters = this.opts.counters;
    counters.sentBytes += size;
    counters.sentFrames += controlEnd - controlStart + picks;
    this.opts.transport.send(pooled ? message.subarray(0, off) : message, this.sent, reserved);
    return true;
  }

  private enqueue(source: DataSource): void {
    source.outboxQueued = true;
    if (this.readyTail === undefined) this.readyHead = source;
    else this.readyTail.outboxNext = source;
    this.readyTail = source;
  }

  private dequeue(): DataSource | undefined {
    const source = this.readyHead;
    if (source === undefined) return undefined;
    this.readyHead = source.outboxNext;
    if (this.readyHead === undefined) this.readyTail = undefined;
    source.outboxNext = undefined;
    source.outboxQueued = false;
    return source;
  }

  /**
   * Whether a message of `bytes` (headroom included) is built in a pool buffer: a small one
   * (Node's shared 8 KiB slab serves it) never is; a mid-sized one only if a pooled buffer
   * is free, so the buffers alive stay few even when many small messages are in flight.
   */
  private usePool(bytes: number): boolean {
    if (bytes <= SMALL_MESSAGE || bytes > this.headroom + this.opts.maxMessageSize) return false;
    return this.pool.length > 0 || bytes * 4 >= this.opts.maxMessageSize;
  }

  private newPoolBuffer(): Buffer {
    return Buffer.allocUnsafeSlow(this.headroom + this.opts.maxMessageSize);
  }

  private consumeControl(end: number, bytes: number): void {
    this.controlBytes -= bytes;
    if (end === this.control.length) {
      this.control.length = 0;
      this.controlHead = 0;
    } else if (end > 1024) {
      this.control = this.control.slice(end);
      this.controlHead = 0;
    } else {
      for (let i = this.controlHead; i < end; i++) this.control[i] = EMPTY;
      this.controlHead = end;
    }
  }

  private readonly sent = (err?: unknown): void => {
    const slot = this.sentHead;
    this.sentHead = (slot + 1) % MAX_INFLIGHT_MESSAGES;
    const buffer = this.sentBuffer[slot];
    this.sentBuffer[slot] = undefined;
    if (buffer !== undefined && this.pool.length < POOL_MAX && !this.closed) {
      this.pool.push(buffer);
    }
    this.inflightBytes -= this.sentSize[slot]!;
    this.inflightDataBytes -= this.sentData[slot]!;
    this.inflightMessages--;
    this.opts.meter?.sub(this.sentData[slot]!);
    if (err) this.opts.logger.debug({ err: (err as Error).message }, 'link send failed');
    this.onSent();
    if (this.closed || this.flushing) return;
    if (this.readyBytes > 0 || this.controlBytes > 0) this.schedule();
    this.maybeUncongest();
  };

  private maybeUncongest(): void {
    if (this.congested && this.load < this.opts.linkHighWater / 2) {
      this.congested = false;
      this.onUncongested();
    }
  }
}

const EMPTY = Buffer.alloc(0);
/**
 * Messages handed to the transport and not yet written. Enough keep the socket busy while
 * the next one is built; more only queue in Node's writable buffer, and waiting messages
 * are joined with writev, which for a TLS socket copies them into one new buffer before
 * encrypting. Measured (iperf3, 1 stream, three interleaved rounds, Gbit/s): 2 in flight
 * 3.53/2.99/2.95, 3: 3.68/3.62/3.55, 4: 3.51/3.44/3.19, 8: 3.31/2.82/3.27.
 */
const MAX_INFLIGHT_MESSAGES = 3;
/** Pooled message buffers kept: one per message in flight, and one being built. */
const POOL_MAX = MAX_INFLIGHT_MESSAGES + 1;
/** Messages up to this size (headroom included) are allocated, not taken from the pool. */
const SMALL_MESSAGE = 4096;
