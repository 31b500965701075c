import { getHeapStatistics } from 'node:v8';
import type { Logger } from '../log.js';
import { bytesRead } from './gc-pacer.js';

/**
 * Runs a full GC when a router has gone quiet with much more memory in use than after the
 * last one, or with many fewer streams open than at their peak since then.
 *
 * V8 starts a full GC when its heap grows, so a router that stops allocating keeps whatever
 * died last: after 16,384 streams closed, 85 MB of dead JavaScript and the read buffers it
 * holds (RSS ~160 MiB, 86 after a forced full GC). The check runs once a second from an
 * unref'd timer and does nothing while bytes are being read: a busy router collects on its
 * own, and the pause is never taken on a hot path. It needs `--expose-gc` (bin/skiff.js).
 */
export const IDLE_POLICY = Object.freeze({
  /** Nothing read for this long is quiet. */
  quietMs: 2_000,
  /** At most one full GC per this long. */
  minIntervalMs: 10_000,
  /** In use must be this many times what it was after the last full GC... */
  growthFactor: 2,
  /** ...and this many bytes more. */
  growthBytes: 32 * 1024 * 1024,
  /** Or streams open must have fallen by this many from their peak since the last... */
  dropStreams: 1_024,
  /** ...and to at most this fraction of it. */
  dropFraction: 0.5,
  /** How often the check runs. */
  checkMs: 1_000,
});

/** What the decision looks at, all injected so the rule is tested without a process. */
export interface IdleFigures {
  /** Monotonic milliseconds. */
  now: number;
  /** When bytes were last seen being read (monotonic ms). */
  lastReadAt: number;
  /** When the last full GC ran here (monotonic ms; -Infinity if none). */
  lastCollectAt: number;
  /** Bytes in use now: V8 heap plus external (read buffers). */
  inUse: number;
  /** Bytes in use right after the last full GC here (or at start). */
  baseline: number;
  /** Streams open now. */
  open: number;
  /** The most streams open at once since the last full GC here (or start). */
  peakOpen: number;
}

/**
 * True when a full GC is due: quiet, not too soon after the last, and either grown well past
 * what the last one left or with many streams closed since (a full GC taken while they were
 * open left them in the baseline).
 */
export function collectDue(f: IdleFigures, policy = IDLE_POLICY): boolean {
  const grown =
    f.inUse >= f.baseline * policy.growthFactor && f.inUse >= f.baseline + policy.growthBytes;
  const closed =
    f.peakOpen - f.open >= policy.dropStreams && f.open <= f.peakOpen * policy.dropFraction;
  return (
    f.now - f.lastReadAt >= policy.quietMs &&
    f.now - f.lastCollectAt >= policy.minIntervalMs &&
    (grown || closed)
  );
}

const MiB = 1024 * 1024;

/**
 * The `gc` of --expose-gc called without options: a full, precise GC. Node 20's
 * `gc({ type: 'major' })` only scavenges (a `gc` PerformanceObserver reports it as minor;
 * 111 MiB of dead objects stayed, where `gc()` took them to 2 MiB in 45 ms).
 */
type FullGc = () => void;

function inUse(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

/**
 * Starts the once-a-second check (unref'd: it keeps no process alive); returns its stop.
 * Without --expose-gc it does nothing.
 */
export function startIdleCollector(
  logger: Logger,
  openStreams: () => number,
  policy = IDLE_POLICY,
): () => void {
  const gc = (globalThis as { gc?: FullGc }).gc;
  if (gc === undefined) return () => undefined;
  let seen = bytesRead();
  let lastReadAt = performance.now();
  let lastCollectAt = Number.NEGATIVE_INFINITY;
  let baseline = inUse();
  let peakOpen = openStreams();
  const timer = setInterval(() => {
    const now = performance.now();
    const open = openStreams();
    peakOpen = Math.max(peakOpen, open);
    const read = bytesRead();
    if (read !== seen) {
      seen = read;
      lastReadAt = now;
      return;
    }
    const before = inUse();
    const figures = { now, lastReadAt, lastCollectAt, inUse: before, baseline, open, peakOpen };
    if (!collectDue(figures, policy)) return;
    gc();
    lastCollectAt = performance.now();
    baseline = inUse();
    logger.info(
      {
        open,
        peakOpen,
        beforeMiB: Math.round(before / MiB),
        afterMiB: Math.round(baseline / MiB),
        ms: Math.round(lastCollectAt - now),
        rssMiB: Math.round(process.memoryUsage.rss() / MiB),
      },
      'full GC on a quiet router',
    );
    peakOpen = open;
  }, policy.checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
