/**
 * `skiff --help` without loading every command's module: the build (scripts/cli-help-index.ts)
 * records each top-level command's term and description from the whole tree, and a run that
 * only asks for the top-level help registers stand-ins carrying them. Commander still lays the
 * help out (widths, wrapping); test/unit/cli/help-index.test.ts checks that the result equals
 * the whole tree's help. A missing or unreadable index means the whole tree is loaded.
 */
import { readFileSync } from 'node:fs';
import { Command, Help } from 'commander';

export const HELP_INDEX_URL = new URL('./help-index.json', import.meta.url);

export interface HelpEntry {
  name: string;
  term: string;
  description: string;
}

/** More than any tree will have: a bound on what is read back. */
const MAX_ENTRIES = 64;

/** Whether `args` ask only for the top-level help (no command word: the caller checked). */
export function asksTopLevelHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/** The entries of a fully built program, in help order. */
export function helpIndexOf(program: Command): HelpEntry[] {
  const help = new Help();
  return program.commands.map((command) => ({
    name: command.name(),
    term: help.subcommandTerm(command),
    description: help.subcommandDescription(command),
  }));
}

function isEntry(value: unknown): value is HelpEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return ['name', 'term', 'description'].every((key) => typeof entry[key] === 'string');
}

/** The index the build wrote, or undefined when there is none or it is not one. */
export function readHelpIndex(url: URL = HELP_INDEX_URL): HelpEntry[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(url, 'utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length > MAX_ENTRIES || !parsed.every(isEntry)) {
    return undefined;
  }
  return parsed;
}

/** Adds a stand-in per entry; the help shows each with the term the real command has. */
export function registerHelpIndex(program: Command, index: readonly HelpEntry[]): void {
  const terms = new Map<Command, string>();
  for (const entry of index) {
    const standIn = new Command(entry.name).description(entry.description);
    terms.set(standIn, entry.term);
    program.addCommand(standIn);
  }
  const help = new Help();
  program.configureHelp({
    ...program.configureHelp(),
    subcommandTerm: (command) => terms.get(command) ?? help.subcommandTerm(command),
  });
}
