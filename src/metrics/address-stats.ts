import { ResetCode } from '../protocol/frame.js';

/**
 * How a stream's opening ended. `aborted`: neither end refused it, it just did not open (the
 * client closed first, the link carrying it went down or away, the peer broke the protocol).
 */
export const OUTCOMES = ['ok', 'refused', 'no_route', 'limit', 'timeout', 'aborted'] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** Indexes into EndStats.opened. */
export const Outcome = {
  OK: 0,
  REFUSED: 1,
  NO_ROUTE: 2,
  LIMIT: 3,
  TIMEOUT: 4,
  ABORTED: 5,
} as const;
export type OutcomeIndex = (typeof Outcome)[keyof typeof Outcome];

/** The outcome a stream reset before it opened stands for. */
export function outcomeOfReset(code: number): OutcomeIndex {
  switch (code) {
    case ResetCode.REFUSED:
      return Outcome.REFUSED;
    case ResetCode.NO_ROUTE:
      return Outcome.NO_ROUTE;
    case ResetCode.LIMIT:
      return Outcome.LIMIT;
    case ResetCode.TIMEOUT:
      return Outcome.TIMEOUT;
    default:
      return Outcome.ABORTED;
  }
}

/**
 * Where in its path a site saw a stream: `listener` where a client connected, `connector`
 * where the target was dialled, `relay` at a transit hop.
 */
export const SIDES = ['listener', 'connector', 'relay'] as const;
export type Side = (typeof SIDES)[number];

/**
 * One address at one side: integers the stream path bumps once per stream, or once per chunk
 * or socket write for the bytes (a field increment, the cost of the countRead beside it).
 */
export class EndStats {
  /** Streams by how their opening ended, indexed by Outcome. */
  readonly opened: number[] = [0, 0, 0, 0, 0, 0];
  /** Streams begun and not finished (opening or open). */
  open = 0;
  /** Payload bytes read from this site's TCP sockets of the address (clients or targets). */
  receivedBytes = 0;
  /** Payload bytes written to them (counted once the socket took them). */
  sentBytes = 0;

  /** Whether any stream was seen here: series of an end that never saw one are left out. */
  get used(): boolean {
    return this.open > 0 || this.opened.some((n) => n > 0);
  }
}

export class AddressStats {
  constructor(
    /** The address label: the address, or UNKNOWN_ADDRESS. */
    readonly address: string,
  ) {}

  readonly listener = new EndStats();
  readonly connector = new EndStats();
  readonly relay = new EndStats();
  /** Dials of this site's connector target that failed. */
  dialFailures = 0;

  get busy(): boolean {
    return this.listener.open > 0 || this.connector.open > 0 || this.relay.open > 0;
  }
}

/**
 * The label under which streams for an address this site knows nothing of are counted: a
 * peer names any address it likes in an OPEN, and a label per name would let it grow the
 * metrics without bound. Not a valid address (names are DNS labels), so it never clashes.
 */
export const UNKNOWN_ADDRESS = '(unknown)';

/**
 * The stats of every address the site knows: a local listener's or connector's, or one some
 * reachable site advertises. That bounds the entries by the router's own limits (its records,
 * and maxSites x maxAddressesPerSite for the network); streams naming any other address share
 * one UNKNOWN_ADDRESS entry. An entry whose address is no longer known and that has no stream
 * open is dropped by prune() (its counters restart if the address comes back).
 */
export class AddressBook {
  private readonly byAddress = new Map<string, AddressStats>();
  private readonly unknown = new AddressStats(UNKNOWN_ADDRESS);
  /** Set while /metrics is served: a stream opened after `seconds` (the open-time histogram). */
  onOpenTime: ((address: string, side: Side, seconds: number) => void) | undefined;
  /** Set while /metrics is served: an entry was dropped. */
  onPrune: ((address: string) => void) | undefined;

  constructor(private readonly known: (address: string) => boolean) {}

  /** The address's stats; one lookup for an address seen before. */
  get(address: string): AddressStats {
    const stats = this.byAddress.get(address);
    if (stats !== undefined) return stats;
    if (!this.known(address)) return this.unknown;
    const fresh = new AddressStats(address);
    this.byAddress.set(address, fresh);
    return fresh;
  }

  /** A stream opened: its opening took from `startedAt` (performance.now()) until now. */
  openTime(stats: AddressStats, side: Side, startedAt: number): void {
    this.onOpenTime?.(stats.address, side, (performance.now() - startedAt) / 1000);
  }

  /** Every entry, the unknown one last if it saw anything. */
  *entries(): Iterable<AddressStats> {
    yield* this.byAddress.values();
    if (SIDES.some((side) => this.unknown[side].used)) yield this.unknown;
  }

  /** Drops entries whose address is no longer known and that hold no open stream. */
  prune(): void {
    for (const [address, stats] of this.byAddress) {
      if (stats.busy || this.known(address)) continue;
      this.byAddress.delete(address);
      this.onPrune?.(address);
    }
  }
}
