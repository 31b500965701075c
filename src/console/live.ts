import type { ServerResponse } from 'node:http';

/**
 * The pages' event streams (server-sent events): each gets the view when it connects, and
 * again whenever it changed, looked at once a second and only while some page listens. One
 * JSON text per change is shared by every stream.
 */
export class LiveViews {
  private readonly streams = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private last = '';
  private sentAt = 0;

  constructor(
    /** The view as JSON text. */
    private readonly view: () => string,
    private readonly maxStreams: number,
    private readonly intervalMs = 1_000,
  ) {}

  /** Serves `res` as an event stream; false (nothing written) when there are too many. */
  add(res: ServerResponse): boolean {
    if (this.streams.size >= this.maxStreams) return false;
    // A change seen now is news to the streams already open too.
    this.tick();
    res.once('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0) this.stopTimer();
    });
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
    });
    this.streams.add(res);
    send(res, `data: ${this.last}`);
    this.timer ??= setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    return true;
  }

  /** Ends every stream (the console closes). */
  close(): void {
    this.stopTimer();
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  private tick(): void {
    const text = this.view();
    if (text !== this.last) {
      this.last = text;
      for (const res of this.streams) send(res, `data: ${text}`);
    } else if (Date.now() - this.sentAt >= KEEPALIVE_MS) {
      // A comment line: no event for the page, but traffic for proxies that drop idle streams.
      for (const res of this.streams) send(res, ':');
    } else return;
    this.sentAt = Date.now();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** A page that stops reading is dropped once this much waits for it: the router holds no more. */
const MAX_UNSENT_BYTES = 1024 * 1024;

/** kubectl port-forward and other proxies may close a stream idle for long. */
const KEEPALIVE_MS = 25_000;

/** One event or comment line (JSON has no raw newline, so a view is one `data:` line). */
function send(res: ServerResponse, line: string): void {
  if (res.writableLength > MAX_UNSENT_BYTES) res.destroy();
  else res.write(`${line}\n\n`);
}
