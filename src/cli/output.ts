/**
 * The only place the CLI writes to stdout and stderr. Results go to stdout: a text form
 * for people, or with `-o json` the API result object itself, pretty-printed, as one JSON
 * document. Errors go to stderr as one line starting `skiff: `.
 */

export type OutputFormat = 'text' | 'json';

export function writeOut(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function writeErr(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Prints `value` as JSON, or `text(value)` for people. */
export function printResult<T>(format: OutputFormat, value: T, text: (value: T) => string): void {
  writeOut(format === 'json' ? JSON.stringify(value, null, 2) : text(value));
}

/** Any text squeezed onto one line, for the `skiff: <message>` error line. */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join(' ');
}

export function printError(message: string): void {
  writeErr(`skiff: ${oneLine(message)}`);
}
