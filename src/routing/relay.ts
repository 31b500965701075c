import type { MuxStream, StreamHandler } from '../mux/stream.js';
import { ResetCode } from '../protocol/frame.js';

/** What a relay tells whoever made it. */
export interface RelayEvents {
  /** Once: downstream opened (no code), or the relay ended before it did (the reset's code). */
  opened(code?: number): void;
  /** Once, when both streams are finished or reset. */
  done(): void;
}

/**
 * One direction of a relay: bytes received on `from` are written to `to`. Credit goes
 * back to `from`'s sender only for bytes `to` took within its own credit, so a slow
 * reader downstream stops the sender upstream, hop by hop. Bytes that arrive while `to`
 * is blocked wait here (at most one window: the upstream sender has no more credit) and
 * are written once it drains, so `to`'s queue holds at most one chunk beyond its credit.
 */
class Direction {
  private readonly pending: Buffer[] = [];
  /** Bytes of the chunk `to` queued beyond its credit: credited upstream on drain. */
  private owed = 0;
  private blocked = false;
  private ended = false;

  constructor(
    private readonly from: () => MuxStream,
    private readonly to: () => MuxStream,
  ) {}

  data(chunk: Buffer): void {
    if (this.blocked) this.pending.push(chunk);
    else this.write(chunk);
  }

  end(): void {
    this.ended = true;
    if (!this.blocked) this.to().end();
  }

  drain(): void {
    if (!this.blocked) return;
    this.blocked = false;
    const owed = this.owed;
    this.owed = 0;
    if (owed > 0) this.from().consumed(owed);
    while (!this.blocked && this.pending.length > 0) this.write(this.pending.shift()!);
    if (!this.blocked && this.ended) this.to().end();
  }

  private write(chunk: Buffer): void {
    if (this.to().write(chunk)) {
      this.from().consumed(chunk.length);
    } else {
      this.blocked = true;
      this.owed = chunk.length;
    }
  }
}

/**
 * Joins a stream that arrived over one link (upstream, from the site that opened it) to
 * one this router opened towards the destination (downstream): the transit hop of a
 * multi-hop stream. Upstream is accepted only once downstream is open, so a refusal at
 * the destination travels back as a refusal and the origin can try elsewhere.
 */
export class StreamRelay {
  private down!: MuxStream;
  private readonly toDown: Direction;
  private readonly toUp: Direction;
  private closedCount = 0;
  private done = false;
  private settled = false;

  readonly upstreamHandler: StreamHandler;
  readonly downstreamHandler: StreamHandler;

  constructor(
    private readonly up: MuxStream,
    private readonly events: RelayEvents,
  ) {
    this.toDown = new Direction(
      () => this.up,
      () => this.down,
    );
    this.toUp = new Direction(
      () => this.down,
      () => this.up,
    );
    this.upstreamHandler = {
      onOpen: () => undefined,
      onData: (chunk) => this.toDown.data(chunk),
      onEnd: () => this.toDown.end(),
      onReset: (code, reason) =>
        this.finish(() => this.down.reset(code, reason), ResetCode.ABORTED),
      onDrain: () => this.toUp.drain(),
      onClose: () => this.closed(),
    };
    this.downstreamHandler = {
      onOpen: () => {
        this.settle();
        this.up.accept();
      },
      onData: (chunk) => this.toUp.data(chunk),
      onEnd: () => this.toUp.end(),
      onReset: (code, reason) => this.finish(() => this.up.reset(code, reason), code),
      onDrain: () => this.toDown.drain(),
      onClose: () => this.closed(),
    };
  }

  /** Sets the downstream stream, opened with `downstreamHandler` as its handler. */
  connect(down: MuxStream): void {
    this.down = down;
  }

  private closed(): void {
    if (++this.closedCount === 2) this.finish(() => undefined, ResetCode.ABORTED);
  }

  private settle(code?: number): void {
    if (this.settled) return;
    this.settled = true;
    this.events.opened(code);
  }

  /** `code`: what the relay ending counts as if downstream never opened. */
  private finish(action: () => void, code: number): void {
    action();
    this.settle(code);
    if (this.done) return;
    this.done = true;
    this.events.done();
  }
}
