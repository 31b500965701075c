/**
 * What a waiting command shows on stderr while it waits. On a terminal: one spinner line,
 * redrawn in place and erased when the wait ends, so only the result (stdout) or the error
 * line stays on screen. Otherwise: a plain line per change of what is awaited, no control
 * codes; none at all with `-o json`, whose stderr carries nothing but a JSON error.
 * Progress draws partial lines and control codes, which output.ts's line writers do not.
 */
import type { OutputFormat } from './output.js';

export interface Progress {
  /** What the wait is at now (`connecting`, `connect ECONNREFUSED ...`). */
  update(detail: string): void;
  /** Erases the spinner; call once, whatever the outcome. */
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 80;
const CLEAR_LINE = '\r\x1b[2K';

/** Progress for "waiting for `what`", drawn as fits stderr. */
export function startProgress(what: string, format: OutputFormat): Progress {
  if (process.stderr.isTTY) return spinner(what);
  if (format !== 'text') return { update: () => {}, stop: () => {} };
  let last: string | undefined;
  return {
    update(detail) {
      if (detail === last) return;
      last = detail;
      process.stderr.write(`waiting for ${what}: ${detail}\n`);
    },
    stop() {},
  };
}

function spinner(what: string): Progress {
  const started = Date.now();
  let detail = '';
  let frame = 0;
  const draw = (): void => {
    const elapsed = Math.floor((Date.now() - started) / 1000);
    const text = `${FRAMES[frame++ % FRAMES.length]} waiting for ${what} (${elapsed}s)${detail ? `: ${detail}` : ''}`;
    // A line longer than the terminal wraps, and CLEAR_LINE would then erase only its tail.
    const width = Math.max((process.stderr.columns || 80) - 1, 10);
    process.stderr.write(`${CLEAR_LINE}${text.length > width ? text.slice(0, width) : text}`);
  };
  const timer = setInterval(draw, FRAME_MS);
  timer.unref();
  // Ctrl-C while the spinner is up: erase it, then die of the signal as the shell expects.
  const onSigint = (): void => {
    stop();
    process.kill(process.pid, 'SIGINT');
  };
  process.once('SIGINT', onSigint);
  draw();
  function stop(): void {
    clearInterval(timer);
    process.removeListener('SIGINT', onSigint);
    process.stderr.write(CLEAR_LINE);
  }
  return {
    update(next) {
      detail = next;
    },
    stop,
  };
}
