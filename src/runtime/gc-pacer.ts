/**
 * Runs a young-generation GC after every so many bytes read from sockets.
 *
 * Every socket read hands JavaScript a fresh buffer (64 KiB from a TCP socket, 16 KiB from
 * a TLS one) whose memory lives outside V8's heap. V8 scavenges when its young generation
 * fills with JavaScript objects, and a relay makes few of those per byte, so hundreds of
 * MiB of dead read buffers could pass between scavenges; V8 only reacts to that external
 * memory with a full GC once about 64 MiB of it has piled up, and glibc keeps the heap it
 * grew for them. Scavenging every PACE_BYTES keeps the dead buffers to a few MiB
 * (docs/performance.md has the measurements). It needs `--expose-gc`, which bin/skiff.js
 * passes; without it (tests running the code in-process) the pacer does nothing.
 */
const PACE_BYTES = 16 * 1024 * 1024;

/** The `gc` that --expose-gc installs, as used here. */
type GcFunction = (options: { type: 'minor' }) => void;

const gc = (globalThis as { gc?: GcFunction }).gc;
let counted = 0;
let scheduled = false;
/** Bytes read since the process started: how src/runtime/idle-collector.ts tells quiet. */
let total = 0;

/** Bytes read from sockets so far (counted only with --expose-gc). */
export function bytesRead(): number {
  return total;
}

/** Counts n bytes read; schedules a scavenge, after this loop turn, every PACE_BYTES. */
export function countRead(n: number): void {
  if (gc === undefined) return;
  total += n;
  counted += n;
  if (counted < PACE_BYTES || scheduled) return;
  counted = 0;
  scheduled = true;
  // After the turn: the buffers read in it have been copied or written by then.
  setImmediate(scavenge);
}

function scavenge(): void {
  scheduled = false;
  gc?.({ type: 'minor' });
}
