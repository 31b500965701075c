/**
 * Reproducible ways to cut a byte stream into chunks, for parsers that must not care where
 * a socket read ends. A failing seed is printed in the test name, so it reruns exactly
 * (the generator is in random.ts).
 */

/**
 * Cuts `data` into chunks of mixed sizes: runs of 1-byte chunks, small ones (header-sized),
 * medium and large ones, so cuts fall inside headers, payloads and across frames. Each
 * chunk is a fresh copy: a parser may change its input in place.
 */
export function randomChunks(data: Buffer, rand: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  let off = 0;
  while (off < data.length) {
    const r = rand();
    if (r < 0.05) {
      // A run of 1-byte chunks.
      const run = Math.min(1 + Math.floor(rand() * 64), data.length - off);
      for (let i = 0; i < run; i++) chunks.push(Buffer.from(data.subarray(off + i, off + i + 1)));
      off += run;
      continue;
    }
    const size =
      r < 0.15
        ? 1 + Math.floor(rand() * 3)
        : r < 0.45
          ? 1 + Math.floor(rand() * 20)
          : r < 0.8
            ? 1 + Math.floor(rand() * 4096)
            : 1 + Math.floor(rand() * 70_000);
    const end = Math.min(off + size, data.length);
    chunks.push(Buffer.from(data.subarray(off, end)));
    off = end;
  }
  return chunks;
}

/** `data` cut at `at` into two fresh copies (either may be empty). */
export function splitAt(data: Buffer, at: number): Buffer[] {
  return [Buffer.from(data.subarray(0, at)), Buffer.from(data.subarray(at))];
}

/** `data` as fresh 1-byte chunks. */
export function byteChunks(data: Buffer): Buffer[] {
  return Array.from({ length: data.length }, (_, i) => Buffer.from(data.subarray(i, i + 1)));
}
