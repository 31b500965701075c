/** Pure text formatting for the CLI's human output: tables, durations, sizes. */

/**
 * Columns padded to their widest cell, two spaces apart, no trailing spaces. `empty` is
 * printed instead when there are no rows (e.g. "no links").
 */
export function table(
  headers: readonly string[],
  rows: readonly string[][],
  empty: string,
): string {
  if (rows.length === 0) return empty;
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A value or a dash for "not known". */
export function orDash(value: string | number | undefined): string {
  return value === undefined || value === '' ? '-' : String(value);
}

/**
 * Three significant digits, as `toFixed` writes them (no float noise): `1.50`, `12.5`, `125`.
 * Callers choose the unit so that the value is below 1000.
 */
function threeDigits(value: number): string {
  return value.toFixed(value < 9.995 ? 2 : value < 99.95 ? 1 : 0);
}

/**
 * Round-trip time, three significant digits in the unit that fits: `420µs`, `2.50ms`,
 * `12.5ms`, `125ms`, `1.53s`. Microseconds are whole: the API rounds rttMs to them. A dash
 * when not measured.
 */
export function formatRtt(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  const us = Math.round(ms * 1000);
  if (us < 1000) return `${us}µs`;
  if (ms < 999.5) return `${threeDigits(ms)}ms`;
  return `${threeDigits(ms / 1000)}s`;
}

/** Uptime as `3d4h`, `2h5m`, `4m10s`, `9s`: the two largest units. */
export function formatUptime(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join('');
}

/** Bytes as `512 B`, `12.0 KiB`, `3.5 MiB`, `1.2 GiB`: one decimal, never `1024.0 KiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1023.95 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** An ISO time with how long ago it was: `2025-01-01T00:00:00.000Z (3m10s ago)`. */
export function formatSince(iso: string, now: number = Date.now()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  return `${iso} (${formatUptime((now - at) / 1000)} ago)`;
}

/** How far an ISO time is from now: `in 14m50s`, `3m ago`; the text itself if not a time. */
export function formatRelative(iso: string, now: number = Date.now()): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  return at >= now
    ? `in ${formatUptime((at - now) / 1000)}`
    : `${formatUptime((now - at) / 1000)} ago`;
}

/** An ISO time to come, or past: `... (in 14m50s)`, `... (3m ago)`. */
export function formatUntil(iso: string, now: number = Date.now()): string {
  return Number.isNaN(Date.parse(iso)) ? iso : `${iso} (${formatRelative(iso, now)})`;
}

/**
 * A detail view, kubectl describe style: one `Label:  value` line per field, values aligned.
 * A multi-line value continues under its first line.
 */
export function details(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  const indent = ' '.repeat(width + 2);
  return fields
    .map(([label, value]) =>
      `${`${label}:`.padEnd(width)}  ${value.split('\n').join(`\n${indent}`)}`.trimEnd(),
    )
    .join('\n');
}

/** host:port, with IPv6 hosts in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `1 use`, `3 uses`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A titled block with its body indented two spaces (the sections of `status`). */
export function section(title: string, body: string): string {
  return `${title}:\n${body
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')}`;
}
