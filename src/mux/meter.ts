/**
 * Counts bytes a router holds on behalf of streams: received and not yet consumed, queued
 * to send, and handed to a link's socket but not yet written. One meter is shared by every
 * mux of a router, so `peak` bounds the router's stream buffering as a whole; tests and
 * `skiff status` read it to show memory stays bounded under slow readers.
 */
export class BufferMeter {
  /** Bytes held right now. */
  current = 0;
  /** The most ever held at once. */
  peak = 0;

  add(n: number): void {
    this.current += n;
    if (this.current > this.peak) this.peak = this.current;
  }

  sub(n: number): void {
    this.current -= n;
  }
}
