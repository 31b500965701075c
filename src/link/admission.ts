import { readFileSync } from 'node:fs';
import type { LinkPortStats } from '../admin/api.js';

/** What the link port admits before a connection is authenticated and upgraded. */
export interface AdmissionLimits {
  /** Unauthenticated connections one source address may hold at once. */
  perSource: number;
  /** Unauthenticated connections the port holds at once, from everyone. */
  total: number;
  /** Redeem requests one source may make per minute (after a burst of REDEEM_BURST). */
  redeemsPerMinute: number;
}

/** Counters for status: what is held now and what was refused since start. */
export type AdmissionStats = LinkPortStats;

/** Redeem requests a source may make at once before its rate applies. */
export const REDEEM_BURST = 10;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The link port's gate for connections nobody has authenticated yet (TCP accepted, TLS
 * handshaking, a redeem request): a cap per source address and one in total, so strangers
 * cannot take the file descriptors legitimate streams need, and a token bucket per source
 * for redeem requests, each of which costs a signature check and may cost a certificate.
 */
export class Admission {
  private readonly bySource = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private held = 0;
  private refusedPerSource = 0;
  private refusedTotal = 0;
  private redeemsLimited = 0;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a place for a new connection; `undefined` if admitted, else why not. */
  admit(source: string): 'per-source' | 'total' | undefined {
    const n = this.bySource.get(source) ?? 0;
    if (n >= this.limits.perSource) {
      this.refusedPerSource++;
      return 'per-source';
    }
    if (this.held >= this.limits.total) {
      this.refusedTotal++;
      return 'total';
    }
    this.bySource.set(source, n + 1);
    this.held++;
    return undefined;
  }

  /** Gives back the place of an admitted connection (it closed, or it was authenticated). */
  release(source: string): void {
    const n = this.bySource.get(source);
    if (n === undefined) return;
    if (n <= 1) this.bySource.delete(source);
    else this.bySource.set(source, n - 1);
    this.held--;
  }

  /** True if `source` may make a redeem request now (and counts it). */
  allowRedeem(source: string): boolean {
    const t = this.now();
    const perMs = this.limits.redeemsPerMinute / 60_000;
    const bucket = this.buckets.get(source) ?? { tokens: REDEEM_BURST, at: t };
    bucket.tokens = Math.min(REDEEM_BURST, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
    if (bucket.tokens < 1) {
      this.redeemsLimited++;
      return false;
    }
    bucket.tokens--;
    this.buckets.set(source, bucket);
    if (this.buckets.size > this.limits.total) this.forgetFull(t, perMs);
    return true;
  }

  stats(): AdmissionStats {
    return {
      unauthenticated: this.held,
      maxUnauthenticated: this.limits.total,
      maxPerSource: this.limits.perSource,
      refusedPerSource: this.refusedPerSource,
      refusedTotal: this.refusedTotal,
      redeemsLimited: this.redeemsLimited,
    };
  }

  /** Drops buckets that have refilled: they say nothing a fresh one would not. */
  private forgetFull(t: number, perMs: number): void {
    for (const [source, b] of this.buckets) {
      if (b.tokens + (t - b.at) * perMs >= REDEEM_BURST) this.buckets.delete(source);
    }
  }
}

/** One source per client address: an IPv4 client seen on a dual-stack socket counts as itself. */
export function sourceOf(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? '?';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * The process's soft limit on open files (RLIMIT_NOFILE), from /proc/self/limits; undefined
 * where that file is missing or unreadable.
 */
export function openFileLimit(limitsText = readLimits()): number | undefined {
  const line = limitsText?.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  const n = Number(soft);
  return soft !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}

function readLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}

/** Without a known fd limit, the total cap assumes the common default of 1024. */
const ASSUMED_FD_LIMIT = 1024;

/**
 * The total cap: the setting if given (non-zero), else a quarter of the fd limit, so
 * unauthenticated connections can never take the descriptors links and streams need.
 */
export function totalCap(setting: number, fdLimit = openFileLimit()): number {
  if (setting > 0) return setting;
  return Math.max(1, Math.floor((fdLimit ?? ASSUMED_FD_LIMIT) / 4));
}
