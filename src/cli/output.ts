/**
 * The only place the CLI writes to stdout and stderr. Results go to stdout: a text form
 * for people, or with `-o json|yaml` one document in the envelope docs/cli-output.md
 * describes (`apiVersion`, `kind`, then the item's fields, or `items` for a list). Errors go
 * to stderr: one `skiff: ...` line, or with json/yaml `{"error":{"code","message"}}`.
 */
import { createRequire } from 'node:module';
import { describe, ErrorCode, SkiffError } from '../errors.js';

export const OUTPUT_FORMATS = ['text', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The schema version of every json/yaml document; bumped on an incompatible change. */
export const API_VERSION = 'skiff.dev/v1';

/** What a document holds; a list's kind is `<Kind>List`. */
export type Kind =
  | 'Site'
  | 'Status'
  | 'Link'
  | 'Listener'
  | 'Connector'
  | 'Token'
  | 'Network'
  | 'Version'
  | 'DebugDump'
  | 'Console';

/** What a create/delete/update command did to the item it prints. */
export type Action = 'created' | 'deleted' | 'updated' | 'unchanged';

export function writeOut(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function writeErr(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

type YamlModule = typeof import('yaml');
let yamlModule: YamlModule | undefined;

/**
 * The yaml package costs ~60 ms to load, so only `-o yaml` loads it. Its node build is
 * CommonJS, which require() loads synchronously: printing stays synchronous, as commander's
 * error hook (program.ts) needs.
 */
function yaml(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule;
  return yamlModule;
}

/** A document for scripts: pretty JSON, or YAML with no line folded (lines grep can find). */
function serialize(format: 'json' | 'yaml', doc: object): string {
  return format === 'json' ? JSON.stringify(doc, null, 2) : yaml().stringify(doc, { lineWidth: 0 });
}

/** Every item of `kind`, as `<Kind>List` (an empty list is a list too), or `text(items)`. */
export function renderList<T extends object>(
  format: OutputFormat,
  kind: Kind,
  items: readonly T[],
  text: (items: readonly T[]) => string,
): string {
  if (format === 'text') return text(items);
  return serialize(format, { apiVersion: API_VERSION, kind: `${kind}List`, items });
}

/** One item, with the same fields it has in a list, or `text(item)`. */
export function renderItem<T extends object>(
  format: OutputFormat,
  kind: Kind,
  item: T,
  text: (item: T) => string,
): string {
  if (format === 'text') return text(item);
  return serialize(format, { apiVersion: API_VERSION, kind, ...item });
}

/** The result of a create/delete/update: the item, and `action` saying what was done. */
export function renderAction<T extends object>(
  format: OutputFormat,
  kind: Kind,
  action: Action,
  item: T,
  text: (item: T) => string,
): string {
  if (format === 'text') return text(item);
  return serialize(format, { apiVersion: API_VERSION, kind, action, ...item });
}

export function printList<T extends object>(
  format: OutputFormat,
  kind: Kind,
  items: readonly T[],
  text: (items: readonly T[]) => string,
): void {
  writeOut(renderList(format, kind, items, text));
}

export function printItem<T extends object>(
  format: OutputFormat,
  kind: Kind,
  item: T,
  text: (item: T) => string,
): void {
  writeOut(renderItem(format, kind, item, text));
}

export function printAction<T extends object>(
  format: OutputFormat,
  kind: Kind,
  action: Action,
  item: T,
  text: (item: T) => string,
): void {
  writeOut(renderAction(format, kind, action, item, text));
}

/** Any text squeezed onto one line, for the `skiff: <message>` error line. */
export function oneLine(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join(' ');
}

/**
 * A failure on stderr. A SkiffError's message is written for people already; anything
 * else is reported as INTERNAL with describe()'s errno code.
 */
export function printError(format: OutputFormat, err: unknown): void {
  const code = err instanceof SkiffError ? err.code : ErrorCode.INTERNAL;
  const message = oneLine(err instanceof SkiffError ? err.message : describe(err));
  if (format === 'text') writeErr(`skiff: ${message}`);
  else if (format === 'json') writeErr(JSON.stringify({ error: { code, message } }));
  else writeErr(serialize('yaml', { error: { code, message } }));
}

/**
 * The `-o/--output` value in `argv` (the last one, as commander takes it), read before
 * commander parses: so that its own usage errors, and a failure to parse at all, are
 * reported in the format asked for. Anything else (absent, invalid) is text.
 */
export function outputFormatOf(argv: readonly string[]): OutputFormat {
  let format: OutputFormat = 'text';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    let value: string | undefined;
    if (arg === '-o' || arg === '--output') value = argv[++i];
    else if (arg.startsWith('--output=')) value = arg.slice('--output='.length);
    else if (arg.startsWith('-o') && !arg.startsWith('--')) value = arg.slice(2);
    if (value !== undefined && (OUTPUT_FORMATS as readonly string[]).includes(value)) {
      format = value as OutputFormat;
    }
  }
  return format;
}
