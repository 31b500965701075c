import { ErrorCode, SkiffError } from '../errors.js';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `30s`, `15m`, `2h`, `1d`, `500ms` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `"${text}" is not a duration: write it like 30s, 15m or 2h`,
    );
  }
  const ms = Number(m[1]) * units[m[2]!]!;
  if (ms <= 0) {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `duration "${text}" must be more than zero`);
  }
  return Math.round(ms);
}

/** The inverse of parseDuration, choosing the largest unit that divides evenly. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
