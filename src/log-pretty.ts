/**
 * `--log-format pretty` (the default on a terminal): each pino JSON line as one line a
 * person reads, `12:01:02.345 INFO  link up  link=east direction=out peer=east`, local
 * time, no pid. Multi-line values (a stack) follow on indented lines.
 */
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

export function prettyLine(line: string): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    entry = undefined;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const { level, time, msg, pid: _pid, ...fields } = entry as Record<string, unknown>;
  const head = [
    clock(time),
    (LEVELS[level as number] ?? String(level)).padEnd(5),
    typeof msg === 'string' ? msg : JSON.stringify(msg ?? ''),
  ].join(' ');
  const inline: string[] = [];
  const blocks: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string' && value.includes('\n')) {
      blocks.push(`    ${key}:`, ...value.split('\n').map((l) => `      ${l}`));
    } else {
      inline.push(`${key}=${shown(value)}`);
    }
  }
  return [inline.length ? `${head}  ${inline.join(' ')}` : head, ...blocks].join('\n') + '\n';
}

/** HH:MM:SS.mmm in local time, from pino's ISO timestamp. */
function clock(time: unknown): string {
  const date = new Date(typeof time === 'string' || typeof time === 'number' ? time : Number.NaN);
  if (Number.isNaN(date.getTime())) return '--:--:--.---';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/** A bare word when it reads unambiguously, else JSON. */
function shown(value: unknown): string {
  if (typeof value === 'string' && /^[^\s"'=]+$/.test(value)) return value;
  return JSON.stringify(value) ?? String(value);
}
