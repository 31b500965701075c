/**
 * `--watch` (`status`, `link list`): poll the router and print again whenever what would be
 * printed changes, until Ctrl-C (exit 0). On a terminal each print replaces the screen;
 * otherwise prints are appended, a `--- TIME` line before each after the first (`---`
 * between YAML documents; JSON documents follow one another, as jq reads them). Changes to time-driven values alone
 * (uptime, RTT) do not count, so an idle site is printed once.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { LinkInfo, SiteStatus } from '../admin/api.js';
import type { CliContext } from './context.js';
import { type OutputFormat, writeOut } from './output.js';

const POLL_MS = 1000;
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export interface WatchSpec<T> {
  fetch: () => Promise<T>;
  /** The text to print, in the format asked for. */
  render: (value: T) => string;
  /** `value` without its time-driven fields: what a change is judged on. */
  steady?: (value: T) => T;
}

/** Forms without time-driven fields, per resource shape. */
export const STEADY = {
  links: (links: LinkInfo[]): LinkInfo[] => links.map(({ rttMs: _rtt, ...rest }) => rest),
  status: (s: SiteStatus): SiteStatus => ({
    ...s,
    uptimeSeconds: 0,
    links: STEADY.links(s.links),
  }),
};

/** Prints on change until SIGINT; a fetch that fails (the router went away) ends the watch with its error. */
export async function watch<T>(
  ctx: CliContext,
  { fetch, render, steady = (v) => v }: WatchSpec<T>,
): Promise<void> {
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    let last: string | undefined;
    let prints = 0;
    while (!stop.signal.aborted) {
      const value = await untilAborted(fetch(), stop.signal);
      if (value === undefined) break;
      const key = render(steady(value.result));
      if (key !== last) {
        last = key;
        draw(render(value.result), prints++ === 0, ctx.output);
      }
      await delay(POLL_MS, undefined, { signal: stop.signal }).catch(() => {});
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

function draw(text: string, first: boolean, format: OutputFormat): void {
  if (process.stdout.isTTY) {
    writeOut(`${CLEAR_SCREEN}${text}`);
    return;
  }
  if (!first) {
    if (format === 'text') writeOut(`--- ${new Date().toISOString()}`);
    if (format === 'yaml') writeOut('---');
  }
  writeOut(text);
}

/** `{ result }` of `promise`, or undefined once `signal` aborts first (a later failure is ignored). */
async function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
): Promise<{ result: T } | undefined> {
  promise.catch(() => {});
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise.then((result) => ({ result })), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
