import type { Logger } from '../log.js';
import { LogThrottle } from '../log-throttle.js';

/** Lines per window: a client that can reach a listener can make streams fail at will. */
const LINES_PER_WINDOW = 10;
const WINDOW_MS = 10_000;

export interface StreamFailure {
  address: string;
  /** The target dialled (`host:port`), where this site knows it. */
  connector?: string;
  /** The site that refused the stream, where another did. */
  site?: string;
  reason: string;
}

/**
 * Streams that never reached a target (target refused, no route, dial timeout, a limit),
 * logged at info so an operator sees why a client was closed, at most LINES_PER_WINDOW
 * lines per WINDOW_MS for the whole router. What a window dropped is counted on the next
 * line, or on a closing `stream failures suppressed` line when the storm ends, so the
 * lines and their counts add up to every failure.
 */
export class StreamFailures {
  private readonly throttle = new LogThrottle(LINES_PER_WINDOW, WINDOW_MS);
  private flush: NodeJS.Timeout | undefined;

  constructor(private readonly logger: Logger) {}

  /** The client was closed: no site is left to try. */
  failed(failure: StreamFailure): void {
    this.log(failure, 'stream failed');
  }

  /** One site (this one's own target, or a remote one) failed; the next site is tried. */
  retrying(failure: StreamFailure): void {
    this.log(failure, 'stream failed; trying other sites');
  }

  stop(): void {
    clearTimeout(this.flush);
  }

  private log(failure: StreamFailure, msg: string): void {
    const admitted = this.throttle.admit();
    if (admitted) {
      this.logger.info({ ...failure, ...admitted }, msg);
      return;
    }
    this.flush ??= setTimeout(() => {
      this.flush = undefined;
      const suppressed = this.throttle.takeSuppressed();
      if (suppressed > 0) this.logger.info({ suppressed }, 'stream failures suppressed');
    }, WINDOW_MS).unref();
  }
}
