import { performance } from 'node:perf_hooks';
import type { Settings } from '../config/settings.js';
import { describe, ErrorCode, isSkiffError, SkiffError } from '../errors.js';
import { childLogger, type Logger } from '../log.js';
import { LinkCounters } from '../metrics/link-counters.js';
import { decodeCodeReason, decodeJsonObject, FrameDecoder, isWindow } from '../protocol/decode.js';
import {
  encodeControl,
  encodeGoAway,
  encodeOpen,
  encodePing,
  encodePong,
  encodeReset,
} from '../protocol/encode.js';
import {
  FrameType,
  frameTypeName,
  MAX_STREAM_ID,
  type OpenRequest,
  ResetCode,
  resetCodeName,
} from '../protocol/frame.js';
import type { BufferMeter } from './meter.js';
import { Outbox } from './outbox.js';
import { PeerAction, PeerLimits } from './rate.js';
import {
  DATA_FLOOR,
  dataFloor,
  MuxStream,
  type StreamHandler,
  type StreamHost,
  StreamState,
} from './stream.js';
import type { MessageTransport } from './transport.js';

export interface MuxOptions {
  transport: MessageTransport;
  /** The dialer opens odd stream ids, the acceptor even ones. */
  role: 'dialer' | 'acceptor';
  settings: Settings;
  logger: Logger;
  /** Counts bytes held for streams; shared by every mux of a router. */
  meter?: BufferMeter;
  /** For log lines. */
  linkId: string;
  /** What the link carried, kept across its connections (default: counters of this mux alone). */
  counters?: LinkCounters;
}

export interface MuxStats {
  streams: number;
  /** Control frames and stream data waiting to be sent. */
  queuedBytes: number;
  /** Bytes handed to the transport and not yet confirmed. */
  inflightBytes: number;
}

function protocolError(message: string): SkiffError {
  return new SkiffError(ErrorCode.PROTOCOL, message);
}

/**
 * The multiplexer of one link: the stream table, stream limits, link-level frames
 * (PING/PONG, CONTROL, GOAWAY) and the coalescing outbox. Hooks are plain assignable
 * properties. A peer that breaks the protocol at link level gets a GOAWAY(PROTOCOL) and
 * `onFatal` runs; the link layer then closes the connection (and this mux with it).
 * Flow control is described in stream.ts, the send path in outbox.ts.
 *
 * What a peer may make us do is bounded:
 * - per second (PeerLimits, settings peer*Rate): OPENs, RESETs, refused OPENs, PINGs and
 *   CONTROL messages; over a rate the link fails with LIMIT (GOAWAY, then onFatal);
 * - in bytes: what we queue in reply to it (PONGs, RESETs, OPEN_OKs, WINDOWs, every
 *   non-DATA frame) counts towards the outbox's load like data does, and while the
 *   non-DATA bytes we hold for the link (queued or with the transport) exceed
 *   linkHighWater we stop reading from the peer (transport.pauseReading) until they fall
 *   below half. DATA is left out of that test: credit and linkHighWater bound it already,
 *   and pausing on it would deadlock two routers that both send bulk over a slow link
 *   (each waiting for the other to read). While reading is paused, each message the peer
 *   takes off our hands counts as activity for idle detection: a peer that reads slowly
 *   is alive; one that takes nothing for idleTimeoutMs while we hold its replies is closed
 *   by idle detection like a silent one (it is not reading, and it is what blocks us);
 * - in work: an OPEN is handed to onStream (which dials the target) in a microtask, after
 *   the rest of the read it came in, so an OPEN reset in the same read costs no dial (a
 *   setImmediate instead cost ~20% of the connection rate in a first A/B).
 */
export class Mux implements StreamHost {
  /** A peer opened a stream: call stream.setHandler() now, later accept() or reset(). */
  onStream: (stream: MuxStream, open: OpenRequest) => void = (stream) =>
    stream.reset(ResetCode.REFUSED, 'this end accepts no streams');
  /** A CONTROL message (a JSON object) arrived. */
  onControl: (msg: Record<string, unknown>) => void = () => undefined;
  /** A PONG answered our PING after `ms` milliseconds. */
  onRtt: (ms: number) => void = () => undefined;
  /** The peer sent GOAWAY: it accepts no new streams and will close the link. */
  onGoAway: (code: number, reason: string) => void = () => undefined;
  /** The peer broke the protocol at link level; the link should be closed. */
  onFatal: (err: SkiffError) => void = (err) =>
    this.logger.warn({ err: err.message }, 'link protocol error');
  /** When the last message arrived (Date.now()), for idle detection. */
  lastActivity = Date.now();

  readonly outbox: Outbox;
  readonly settings: Settings;
  readonly meter: BufferMeter | undefined;
  readonly logger: Logger;
  readonly linkId: string;
  readonly counters: LinkCounters;

  private readonly streams = new Map<number, MuxStream>();
  private readonly decoder: FrameDecoder;
  private readonly linkWaiters = new Set<MuxStream>();
  private finishing: MuxStream[] = [];
  private nextId: number;
  /** Highest stream id the peer opened so far. */
  private lastPeerId = 0;
  private closed = false;
  private failed = false;
  private goingAway = false;
  private peerGoingAway = false;
  private readonly limits: PeerLimits;
  /** Reading from the peer is paused until the replies we hold fall below half of linkHighWater. */
  private readPaused = false;
  /** Streams the peer opened, for onStream after the current batch (see offerLater). */
  private offers: MuxStream[] = [];
  private offersScheduled = false;
  private readonly transport: MessageTransport;

  constructor(opts: MuxOptions) {
    this.settings = opts.settings;
    this.meter = opts.meter;
    this.linkId = opts.linkId;
    this.counters = opts.counters ?? new LinkCounters();
    this.logger = childLogger(opts.logger, { link: opts.linkId });
    this.nextId = opts.role === 'dialer' ? 1 : 2;
    this.transport = opts.transport;
    this.limits = new PeerLimits(opts.settings, this.lastActivity);
    this.outbox = new Outbox({
      transport: opts.transport,
      maxMessageSize: opts.settings.maxMessageSize,
      maxFrameSize: opts.settings.maxFrameSize,
      linkHighWater: opts.settings.linkHighWater,
      meter: opts.meter,
      counters: this.counters,
      logger: this.logger,
    });
    this.decoder = new FrameDecoder(opts.settings.maxFrameSize, this.onFrame);
    this.outbox.onFlushed = this.afterFlush;
    this.outbox.onUncongested = this.uncongested;
    this.outbox.onSent = this.messageSent;
  }

  /** Open streams on this link. */
  get streamCount(): number {
    return this.streams.size;
  }

  stats(): MuxStats {
    return {
      streams: this.streams.size,
      queuedBytes: this.outbox.controlBytes + this.outbox.queuedDataBytes,
      inflightBytes: this.outbox.inflightBytes,
    };
  }

  /**
   * Sites may configure different maxFrameSize values and a receiver rejects DATA above its
   * own: once the link layer learns the peer's value (e.g. in its HELLO), it passes it here
   * and outgoing DATA frames are cut to fit.
   */
  setPeerMaxFrameSize(bytes: number): void {
    this.outbox.limitFrameSize(bytes);
  }

  /**
   * Feeds received bytes, `piece[start..end)`: a whole message, or the next piece of one
   * (`last` false until its final piece). DATA reaches streams as views of the pieces, so
   * the link never has to join a message first. Never throws: violations go to onFatal.
   */
  receive(piece: Buffer, start = 0, end = piece.length, last = true): void {
    if (this.closed || this.failed) return;
    this.lastActivity = Date.now();
    this.counters.receivedBytes += end - start;
    try {
      this.decoder.push(piece, start, end);
      if (last) this.decoder.endMessage();
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!this.readPaused && this.outbox.replyLoad > this.settings.linkHighWater) {
      this.readPaused = true;
      this.logger.debug({ held: this.outbox.replyLoad }, 'peer not reading our replies: pausing');
      this.transport.pauseReading?.();
    }
  }

  /**
   * Opens a stream towards the peer. The request goes out with our window added; the
   * handler hears onOpen() when the peer accepts, onReset() if it refuses. A stream that
   * cannot be opened here (link closed or going away, stream limit) is returned already
   * closed and its handler hears onReset() on the next turn, so callers handle one path.
   */
  openStream(open: { address: string; [k: string]: unknown }, handler: StreamHandler): MuxStream {
    const window = this.settings.streamWindow;
    const request: OpenRequest = { ...open, window, floor: dataFloor(window) };
    let refusal: [number, string] | undefined;
    if (this.closed || this.failed) refusal = [ResetCode.LINK_LOST, 'link is closed'];
    else if (this.goingAway || this.peerGoingAway) {
      refusal = [ResetCode.SHUTDOWN, 'link is going away'];
    } else if (this.streams.size >= this.settings.maxStreamsPerLink) {
      refusal = [ResetCode.LIMIT, `link already carries ${this.streams.size} streams`];
    } else if (this.nextId > MAX_STREAM_ID) {
      refusal = [ResetCode.LIMIT, 'stream ids of this link are used up'];
    }
    if (refusal) {
      const stream = new MuxStream(this, 0, request, StreamState.Opening, handler);
      stream.failSoon(refusal[0], refusal[1]);
      return stream;
    }
    const frame = encodeOpen(this.nextId, request); // throws LIMIT for an oversized request
    const stream = new MuxStream(this, this.nextId, request, StreamState.Opening, handler);
    this.nextId += 2;
    this.streams.set(stream.id, stream);
    this.outbox.pushControl(frame);
    this.logger.debug({ stream: stream.id, address: open.address }, 'stream opening');
    return stream;
  }

  /** Sends a link-level message (a JSON object) to the peer's onControl. */
  sendControl(msg: object): void {
    if (this.closed) return;
    this.outbox.pushControl(encodeControl(msg));
  }

  /** Sends a PING carrying a timestamp; the PONG reports the round trip to onRtt. */
  ping(): void {
    if (this.closed) return;
    const payload = Buffer.allocUnsafe(8);
    payload.writeDoubleBE(performance.now(), 0);
    this.outbox.pushControl(encodePing(payload));
  }

  /** Tells the peer we accept no new streams and will close; existing streams go on. */
  goAway(code: number, reason: string): void {
    if (this.closed || this.goingAway) return;
    this.goingAway = true;
    this.logger.info({ code: resetCodeName(code), reason }, 'sending GOAWAY');
    this.outbox.pushControl(encodeGoAway(code, reason));
  }

  /**
   * Ends the mux: every open stream hears onReset(code, reason) once, the table is
   * emptied, queued frames are dropped and later sends are ignored. Idempotent.
   */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.outbox.close();
    this.offers = [];
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.linkWaiters.clear();
    this.finishing = [];
    this.logger.debug({ code: resetCodeName(code), reason, streams: streams.length }, 'mux closed');
    for (const stream of streams) stream.terminate(code, reason);
  }

  // ---- StreamHost ----

  removeStream(stream: MuxStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.linkWaiters.delete(stream);
  }

  waitForLink(stream: MuxStream): void {
    this.linkWaiters.add(stream);
  }

  finishLater(stream: MuxStream): void {
    this.finishing.push(stream);
  }

  refused(): void {
    const over = this.limits.take(PeerAction.REFUSED, Date.now());
    if (over !== undefined) this.fail(new SkiffError(ErrorCode.LIMIT, over));
  }

  // ---- receive path ----

  private readonly onFrame = (
    type: number,
    _flags: number,
    streamId: number,
    payload: Buffer,
  ): void => {
    if (this.closed || this.failed) return;
    // A DATA frame split over reads arrives in pieces: it is counted at its first.
    if (type !== FrameType.DATA || this.decoder.dataFrameStart) this.counters.receivedFrames++;
    if (streamId === 0) {
      this.linkFrame(type, payload);
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      this.unknownStream(type, streamId, payload);
      return;
    }
    switch (type) {
      case FrameType.DATA:
        stream.handleData(payload, this.decoder.dataFrameStart ? this.decoder.frameLength : -1);
        return;
      case FrameType.WINDOW:
        stream.handleWindow(payload.readUInt32BE(0));
        return;
      case FrameType.OPEN:
        throw protocolError(`OPEN for stream ${streamId}, which is already open`);
      case FrameType.OPEN_OK: {
        const ok = decodeJsonObject(payload, 'OPEN_OK');
        if (!isWindow(ok.window)) throw protocolError('OPEN_OK without a valid window');
        if (!isFloor(ok.floor)) throw protocolError(`OPEN_OK with an invalid floor`);
        stream.handleOpenOk(ok.window, ok.floor ?? 0);
        return;
      }
      case FrameType.FIN:
        stream.handleFin();
        return;
      case FrameType.RESET: {
        this.limit(PeerAction.RESET);
        const { code, reason } = decodeCodeReason(payload);
        stream.handleReset(code, reason);
        return;
      }
    }
  };

  /** Counts one thing the peer made us do; over its rate the link fails (LIMIT). */
  private limit(action: PeerAction): void {
    const over = this.limits.take(action, this.lastActivity);
    if (over !== undefined) throw new SkiffError(ErrorCode.LIMIT, over);
  }

  private linkFrame(type: number, payload: Buffer): void {
    switch (type) {
      case FrameType.PING:
        this.limit(PeerAction.PING);
        this.outbox.pushControl(encodePong(payload));
        return;
      case FrameType.PONG: {
        const rtt = performance.now() - payload.readDoubleBE(0);
        if (rtt >= 0 && Number.isFinite(rtt)) this.onRtt(rtt);
        return;
      }
      case FrameType.CONTROL:
        this.limit(PeerAction.CONTROL);
        this.onControl(decodeJsonObject(payload, 'CONTROL'));
        return;
      case FrameType.GOAWAY: {
        const { code, reason } = decodeCodeReason(payload);
        this.peerGoingAway = true;
        this.logger.info({ code: resetCodeName(code), reason }, 'peer sent GOAWAY');
        this.onGoAway(code, reason);
        return;
      }
    }
  }

  /** True for an id that was in use on this link and is finished now. */
  private isFinishedId(id: number): boolean {
    return (id & 1) === (this.nextId & 1) ? id < this.nextId : id <= this.lastPeerId;
  }

  private unknownStream(type: number, id: number, payload: Buffer): void {
    if (type === FrameType.OPEN) {
      this.incomingOpen(id, payload);
      return;
    }
    // A late frame for a stream that just finished (e.g. DATA in flight when we reset it).
    if (this.isFinishedId(id)) {
      if (type === FrameType.RESET) this.limit(PeerAction.RESET);
      return;
    }
    throw protocolError(`${frameTypeName(type)} for stream ${id}, which was never opened`);
  }

  private incomingOpen(id: number, payload: Buffer): void {
    if ((id & 1) === (this.nextId & 1) || id <= this.lastPeerId) {
      throw protocolError(`OPEN with stream id ${id}: wrong parity or not increasing`);
    }
    this.lastPeerId = id;
    this.limit(PeerAction.OPEN);
    if (this.goingAway) {
      this.refuse(id, ResetCode.SHUTDOWN, 'link is going away');
      return;
    }
    if (this.streams.size >= this.settings.maxStreamsPerLink) {
      this.refuse(
        id,
        ResetCode.LIMIT,
        `link carries the maximum of ${this.settings.maxStreamsPerLink} streams`,
      );
      return;
    }
    let open: Record<string, unknown>;
    try {
      open = decodeJsonObject(payload, 'OPEN');
    } catch (err) {
      this.refuse(id, ResetCode.PROTOCOL, describe(err));
      return;
    }
    if (typeof open.address !== 'string' || !isWindow(open.window) || !isFloor(open.floor)) {
      this.refuse(
        id,
        ResetCode.PROTOCOL,
        'OPEN needs a string address, a valid window and no invalid floor',
      );
      return;
    }
    const request = open as OpenRequest;
    const stream = new MuxStream(this, id, request, StreamState.Accepting);
    this.streams.set(id, stream);
    this.logger.debug({ stream: id, address: request.address }, 'stream offered');
    this.offers.push(stream);
    if (!this.offersScheduled) {
      this.offersScheduled = true;
      queueMicrotask(this.offer); // after the frames of this read, before the next read
    }
  }

  /**
   * Hands the streams opened in the last batch of frames to onStream, skipping those the
   * peer reset meanwhile: a rapid OPEN+RESET never reaches the dialler.
   */
  private readonly offer = (): void => {
    this.offersScheduled = false;
    const list = this.offers;
    this.offers = [];
    for (const stream of list) {
      if (this.closed || this.failed) return;
      if (stream.state !== StreamState.Accepting) continue;
      try {
        this.onStream(stream, stream.open);
      } catch (err) {
        this.logger.error({ stream: stream.id, err: describe(err) }, 'onStream hook failed');
        stream.reset(ResetCode.REFUSED, 'internal error');
      }
    }
  };

  private refuse(id: number, code: number, reason: string): void {
    this.refused();
    this.logger.debug({ stream: id, code: resetCodeName(code), reason }, 'stream refused');
    this.outbox.pushControl(encodeReset(id, code, reason));
  }

  private fail(err: unknown): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    const error = isSkiffError(err)
      ? err
      : new SkiffError(ErrorCode.INTERNAL, describe(err), { cause: err });
    this.logger.warn({ err: error.message, code: error.code }, 'link failed');
    if (error.code === ErrorCode.PROTOCOL) {
      this.outbox.pushControl(encodeGoAway(ResetCode.PROTOCOL, error.message));
    } else if (error.code === ErrorCode.LIMIT) {
      this.outbox.pushControl(encodeGoAway(ResetCode.LIMIT, error.message));
    }
    this.onFatal(error);
  }

  // ---- send path callbacks ----

  private readonly afterFlush = (): void => {
    if (this.finishing.length === 0) return;
    const list = this.finishing;
    this.finishing = [];
    for (const stream of list) stream.maybeFinish();
  };

  /** The transport took a message: the peer is reading; resume reading it when we may. */
  private readonly messageSent = (): void => {
    if (!this.readPaused) return;
    this.lastActivity = Date.now();
    if (this.closed || this.outbox.replyLoad < this.settings.linkHighWater / 2) {
      this.readPaused = false;
      this.logger.debug('peer reads our replies again: resuming');
      this.transport.resumeReading?.();
    }
  };

  private readonly uncongested = (): void => {
    if (this.linkWaiters.size === 0) return;
    const list = [...this.linkWaiters];
    this.linkWaiters.clear();
    for (const stream of list) stream.maybeDrain();
  };
}

/** An announced per-frame charge floor: absent, or an integer up to DATA_FLOOR. */
function isFloor(value: unknown): value is number | undefined {
  return (
    value === undefined ||
    (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= DATA_FLOOR)
  );
}
