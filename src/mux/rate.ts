import type { Settings } from '../config/settings.js';

/**
 * A token bucket: `rate` events per second on average, bursts of up to `2 * rate`. Refilled
 * lazily from the clock the caller passes, so taking a token is a few arithmetic operations
 * (it runs once per OPEN, RESET, PING and CONTROL a peer sends).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    now: number,
  ) {
    this.tokens = rate * BURST_SECONDS;
    this.last = now;
  }

  /** Takes one token at `now` (ms); false when the bucket is empty. */
  take(now: number): boolean {
    if (this.tokens < 1) {
      const refill = ((now - this.last) * this.rate) / 1000;
      this.last = now;
      this.tokens = Math.min(this.rate * BURST_SECONDS, this.tokens + refill);
      if (this.tokens < 1) return false;
    }
    this.tokens--;
    return true;
  }
}

/** How many seconds of a rate one burst may use at once. */
const BURST_SECONDS = 2;

/** What a peer's frames make a link do, each kind with its own rate (settings `peer*Rate`). */
export const PeerAction = {
  OPEN: 0,
  RESET: 1,
  REFUSED: 2,
  PING: 3,
  CONTROL: 4,
} as const;
export type PeerAction = (typeof PeerAction)[keyof typeof PeerAction];

const actionNames = ['OPENs', 'RESETs', 'refused OPENs', 'PINGs', 'CONTROL messages'];
const actionSettings = [
  'peerOpenRate',
  'peerResetRate',
  'peerRefusedRate',
  'peerPingRate',
  'peerControlRate',
] as const satisfies readonly (keyof Settings)[];

/** The per-link buckets of every PeerAction. */
export class PeerLimits {
  private readonly buckets: TokenBucket[];

  constructor(settings: Settings, now: number) {
    this.buckets = actionSettings.map((key) => new TokenBucket(settings[key], now));
  }

  /** Counts one action; returns why the link must close when it is over its rate, else undefined. */
  take(action: PeerAction, now: number): string | undefined {
    const bucket = this.buckets[action]!;
    if (bucket.take(now)) return undefined;
    return `peer exceeded ${bucket.rate} ${actionNames[action]} per second (setting ${actionSettings[action]})`;
  }
}
