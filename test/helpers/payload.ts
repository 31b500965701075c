import { createHash } from 'node:crypto';

/**
 * A payload that every process derives alike (test/helpers/tcp.ts draws random bytes per
 * process): a 1 MiB block of SHA-256 in counter mode, read from an offset chosen by a seed
 * and shifted on every 1 MiB lap. A target in another process sends exactly the bytes the
 * test expects, so a receiver can check each chunk where it lands (no hash to wait for) and
 * tell a correct prefix from corruption.
 */
const BLOCK_SIZE = 1024 * 1024;
const LAP_SHIFT = 4093;

function makeBlock(): Buffer {
  const block = Buffer.allocUnsafe(BLOCK_SIZE);
  for (let off = 0, i = 0; off < BLOCK_SIZE; off += 32, i++) {
    createHash('sha256').update(`skiff payload ${i}`).digest().copy(block, off);
  }
  return block;
}

const BLOCK = makeBlock();

/** The payload for `seed` at stream position `pos`, at most `max` bytes (a view, not a copy). */
export function payloadAt(seed: number, pos: number, max: number): Buffer {
  const lap = Math.floor(pos / BLOCK_SIZE);
  const inLap = pos % BLOCK_SIZE;
  const start = (((seed * 7919 + lap * LAP_SHIFT + inLap) % BLOCK_SIZE) + BLOCK_SIZE) % BLOCK_SIZE;
  const n = Math.min(max, BLOCK_SIZE - inLap, BLOCK_SIZE - start);
  return BLOCK.subarray(start, start + n);
}

/**
 * Checks received bytes against the payload as they arrive and hashes them. `push` returns
 * false at the first byte that differs (and from then on), so a test can say where.
 */
export class PayloadCheck {
  bytes = 0;
  /** Stream position of the first wrong byte, if any. */
  mismatchAt: number | undefined;
  private readonly hash = createHash('sha256');

  constructor(private readonly seed: number) {}

  push(chunk: Buffer): boolean {
    this.hash.update(chunk);
    if (this.mismatchAt === undefined) {
      for (let off = 0; off < chunk.length; ) {
        const want = payloadAt(this.seed, this.bytes + off, chunk.length - off);
        if (!want.equals(chunk.subarray(off, off + want.length))) {
          this.mismatchAt = this.bytes + off;
          break;
        }
        off += want.length;
      }
    }
    this.bytes += chunk.length;
    return this.mismatchAt === undefined;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
