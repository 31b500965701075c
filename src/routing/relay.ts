import type { MuxStream, StreamHandler } from '../mux/stream.js';

/**
 * One direction of a relay: bytes received on `from` are written to `to`. Credit is given
 * back to `from`'s sender only once `to` accepted the bytes within its own credit, so a
 * slow reader downstream stops the sender upstream, hop by hop, and the relay holds at
 * most one window per direction beyond what `to` has credit for.
 */
class Direction {
  /** Bytes written to `to` beyond its credit: credited upstream when `to` drains. */
  private owed = 0;

  constructor(
    private readonly from: () => MuxStream,
    private readonly to: () => MuxStream,
  ) {}

  data(chunk: Buffer): void {
    if (this.to().write(chunk) && this.owed === 0) this.from().consumed(chunk.length);
    else this.owed += chunk.length;
  }

  drain(): void {
    const n = this.owed;
    this.owed = 0;
    if (n > 0) this.from().consumed(n);
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
  private done = false;

  readonly upstreamHandler: StreamHandler;
  readonly downstreamHandler: StreamHandler;

  constructor(
    private readonly up: MuxStream,
    private readonly onDone: () => void,
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
      onEnd: () => this.down.end(),
      onReset: (code, reason) => this.finish(() => this.down.reset(code, reason)),
      onDrain: () => this.toUp.drain(),
      onClose: () => this.closed(),
    };
    this.downstreamHandler = {
      onOpen: () => this.up.accept(),
      onData: (chunk) => this.toUp.data(chunk),
      onEnd: () => this.up.end(),
      onReset: (code, reason) => this.finish(() => this.up.reset(code, reason)),
      onDrain: () => this.toDown.drain(),
      onClose: () => this.closed(),
    };
  }

  /** Sets the downstream stream, opened with `downstreamHandler` as its handler. */
  connect(down: MuxStream): void {
    this.down = down;
  }

  private closedCount = 0;

  private closed(): void {
    if (++this.closedCount === 2) this.finish(() => undefined);
  }

  private finish(action: () => void): void {
    action();
    if (this.done) return;
    this.done = true;
    this.onDone();
  }
}
