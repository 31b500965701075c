/**
 * `--wait` / `--no-wait` / `--timeout`, as `kubectl wait` and Skupper v2 have them: a create
 * command returns once what it made is ready (ready.ts says what that means per resource),
 * shows progress meanwhile (progress.ts), and after the timeout fails with one line naming
 * the last reason it was not ready. Decision 0016 has the defaults.
 */
import { type Command, Option } from 'commander';
import { formatDuration } from '../config/duration.js';
import { ErrorCode, SkiffError } from '../errors.js';
import type { CliContext } from './context.js';
import { startProgress } from './progress.js';
import { parseDurationFlag } from './validate.js';

export const DEFAULT_WAIT_TIMEOUT = '60s';
/** Between checks; each is one admin call (and for a connector one TCP connect). */
const POLL_MS = 200;

export interface WaitFlags {
  wait: boolean;
  timeout: string;
}

/**
 * Adds --wait, --no-wait and --timeout to a create command; `ready` completes "wait until
 * ...". `byDefault`: whether it waits when neither flag is given (decision 0016).
 */
export function addWaitOptions(command: Command, ready: string, byDefault: boolean): Command {
  return command
    .addOption(new Option('--wait', `wait until ${ready}`).default(byDefault))
    .addOption(new Option('--no-wait', 'return as soon as it is created'))
    .option('--timeout <DURATION>', 'how long --wait waits, like 30s or 2m', DEFAULT_WAIT_TIMEOUT);
}

/** How long the flags say to wait, in ms, or undefined for no wait. Parsed before anything is created. */
export function waitTimeout(flags: WaitFlags): number | undefined {
  const timeoutMs = parseDurationFlag(flags.timeout, '--timeout');
  return flags.wait ? timeoutMs : undefined;
}

/** Where a wait stands: done, or not yet and why (shown as progress and in the timeout error). */
export interface Readiness {
  done: boolean;
  detail?: string;
}

export interface WaitSpec {
  /** Completes "waiting for ...": `link west to come up`. */
  what: string;
  timeoutMs: number;
  /** Asked at once and then every POLL_MS; a thrown error ends the wait with it. */
  check: () => Promise<Readiness>;
  /** Appended to the timeout error: what still goes on, where to look. */
  hint?: string;
}

/**
 * Resolves once `check` says done. After `timeoutMs` (also while a check hangs) rejects with
 * SkiffError TIMEOUT: `timed out after 60s waiting for WHAT: DETAIL; HINT`.
 */
export async function waitFor(ctx: CliContext, spec: WaitSpec): Promise<void> {
  const deadline = Date.now() + spec.timeoutMs;
  const progress = startProgress(spec.what, ctx.output);
  let detail: string | undefined;
  try {
    for (;;) {
      const readiness = await beforeDeadline(spec.check(), deadline);
      if (readiness?.done) return;
      if (readiness?.detail !== undefined) {
        detail = readiness.detail;
        progress.update(detail);
      }
      const left = deadline - Date.now();
      if (readiness === undefined || left <= 0) throw timedOut(spec, detail);
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, left)));
    }
  } finally {
    progress.stop();
  }
}

/** The check's answer, or undefined if the deadline comes first (a late failure is ignored). */
async function beforeDeadline<T>(check: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), undefined);
  });
  check.catch(() => {});
  try {
    return await Promise.race([check, late]);
  } finally {
    clearTimeout(timer);
  }
}

function timedOut(spec: WaitSpec, detail: string | undefined): SkiffError {
  const why = detail === undefined ? '' : `: ${detail}`;
  const hint = spec.hint === undefined ? '' : `; ${spec.hint}`;
  return new SkiffError(
    ErrorCode.TIMEOUT,
    `timed out after ${formatDuration(spec.timeoutMs)} waiting for ${spec.what}${why}${hint}`,
  );
}
