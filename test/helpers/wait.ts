import { setTimeout as delay } from 'node:timers/promises';

/**
 * Rejects with a clear message when `promise` has not settled within `ms`. The timer is
 * cleared either way, so a settled wait leaves nothing behind to keep the process alive.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface PollOptions {
  /** Give up after this long (the rejection says what was awaited and the last value). */
  timeoutMs?: number;
  /** Pause between checks. Each check usually runs a CLI command, so it is never a tight loop. */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns something other than undefined or false, and returns it.
 * For conditions the router only exposes through its CLI (`link status`, `status`), where
 * there is no event to await. Errors thrown by `check` propagate at once.
 */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  { timeoutMs = 15_000, intervalMs = 100 }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    last = value;
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`,
      );
    }
    await delay(intervalMs);
  }
}

/**
 * Runs cleanup steps in reverse order of registration, all of them even when some fail;
 * the first failure is rethrown at the end. Used by fixtures that own several resources.
 */
export class Cleanup {
  private readonly steps: Array<() => unknown> = [];

  add(step: () => unknown): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    let first: unknown;
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
