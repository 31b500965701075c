/**
 * A cap on how often one kind of line is logged: anyone who can reach a port can make
 * the router log, so what strangers cause is logged at most `perWindow` times per
 * `windowMs`. The first line let through after a window that dropped some carries the
 * count (`suppressed`), so nothing vanishes without a trace.
 */
export class LogThrottle {
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private dropped = 0;

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Fields to add to a line that may be logged now, or undefined if it must be dropped. */
  admit(): { suppressed?: number } | undefined {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perWindow) {
      this.dropped++;
      return undefined;
    }
    this.inWindow++;
    const dropped = this.takeSuppressed();
    return dropped > 0 ? { suppressed: dropped } : {};
  }

  /** Lines dropped since the last one let through, reset to 0: for a closing count line. */
  takeSuppressed(): number {
    const dropped = this.dropped;
    this.dropped = 0;
    return dropped;
  }
}
