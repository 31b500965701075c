/**
 * Reconnect delays: start at `initialMs`, grow x1.6 per failure with ±20% jitter, capped
 * at `maxMs` (the grpc-js scheme). Jitter keeps a fleet of sites that lost the same peer
 * from redialling it in lockstep.
 */
export class Backoff {
  private next: number;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    this.next = initialMs;
  }

  /** The delay before the next attempt; each call lengthens the one after. */
  delay(): number {
    const base = this.next;
    this.next = Math.min(this.maxMs, base * 1.6);
    const jitter = 1 + (this.random() * 2 - 1) * 0.2;
    return Math.min(this.maxMs, Math.max(1, Math.round(base * jitter)));
  }

  reset(): void {
    this.next = this.initialMs;
  }
}
