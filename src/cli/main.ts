/**
 * The `skiff` entry point (bin/skiff.js imports it). Exit status: 0 on success; a
 * SkiffError's exit code (2 bad input, 3 no router, 4 not found, else 1); 2 for usage
 * errors commander finds. Every failure prints exactly one `skiff: ...` line on stderr, or
 * with `-o json|yaml` one error document (output.ts).
 */
import { CommanderError } from 'commander';
import { SkiffError } from '../errors.js';
import { outputFormatOf, printError } from './output.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  const format = outputFormatOf(args);
  try {
    // Built for this command line: only the module of the command it runs is loaded.
    await (await buildProgram(format, args)).parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help that was asked for).
      return err.exitCode === 0 ? 0 : 2;
    }
    printError(format, err);
    return err instanceof SkiffError ? err.exitCode : 1;
  }
}

// `skiff status | head -1`: a reader that stops early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

/** Resolves once what was written to `stream` so far has been handed to the OS (or failed). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

// The command is over once main() returns: exit after stdout and stderr have drained into
// their pipes, rather than when nothing is left to run, so a watch or retry timer left by
// a start that failed half-way cannot keep a refused router alive (pino flushes its own
// asynchronous log writes at exit).
process.exitCode = await main(process.argv);
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit();
