/**
 * The top-level command a command line names (`skiff --state-dir D link list` -> `link`),
 * read before the command tree is built so that only that command's module is loaded
 * (program.ts). The program's own global options say which flags take a value.
 */
import type { Command } from 'commander';

/** The first word of `args` that is not a global option or its value; undefined when unsure. */
export function invokedCommand(program: Command, args: readonly string[]): string | undefined {
  const takesValue = new Map<string, boolean>();
  for (const option of program.options) {
    const hasValue = option.required || option.optional;
    if (option.long) takesValue.set(option.long, hasValue);
    if (option.short) takesValue.set(option.short, hasValue);
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') return arg;
    // --name=value and -nvalue carry their value; an unknown flag (--help) leaves it to commander.
    const flag = arg.startsWith('--') ? arg.split('=', 1)[0]! : arg.slice(0, 2);
    const hasValue = takesValue.get(flag);
    if (hasValue === undefined) return undefined;
    const inline = arg.startsWith('--') ? arg.includes('=') : arg.length > 2;
    if (hasValue && !inline) i++;
  }
  return undefined;
}
