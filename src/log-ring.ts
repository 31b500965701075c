/**
 * The router's most recent log lines, for `debug dump`: a ring of at most `capacity`
 * lines, each cut to `maxLineChars`, so what it holds is bounded however much is logged.
 * It keeps lines as pino wrote them, after redaction (log.ts), so it holds no secret
 * that the log itself would not show.
 */
export class LogRing {
  private readonly held: string[] = [];
  /** Where the next line goes once the ring is full. */
  private next = 0;

  constructor(
    readonly capacity = 500,
    readonly maxLineChars = 8192,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`a log ring holds at least one line, not ${capacity}`);
    }
  }

  /** Adds one line (a trailing newline is dropped), pushing out the oldest when full. */
  push(line: string): void {
    let text = line.endsWith('\n') ? line.slice(0, -1) : line;
    if (text.length > this.maxLineChars) {
      // A copy, not a slice: V8 keeps a slice's whole parent string alive.
      const head = Buffer.from(text.slice(0, this.maxLineChars)).toString();
      text = `${head}... [${text.length - this.maxLineChars} more chars cut]`;
    }
    if (this.held.length < this.capacity) {
      this.held.push(text);
      return;
    }
    this.held[this.next] = text;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The lines held, oldest first. */
  lines(): string[] {
    return [...this.held.slice(this.next), ...this.held.slice(0, this.next)];
  }

  /** lines() as the objects they encode; a line that is not JSON (one cut short) as its text. */
  entries(): unknown[] {
    return this.lines().map((line) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        return line;
      }
    });
  }
}
