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

/** Round-trip time: `0.4ms`, `12ms`, `1.2s`; a dash when not measured. */
export function formatRtt(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 10) return `${Math.round(ms * 10) / 10}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${Math.round(ms / 100) / 10}s`;
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

/** Bytes as `512 B`, `12.0 KiB`, `3.5 MiB`, `1.2 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
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
