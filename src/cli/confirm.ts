/** Asking a person before something that cannot be undone. */
import { createInterface } from 'node:readline/promises';
import { ErrorCode, SkiffError } from '../errors.js';

/**
 * Resolves when the person at the terminal answers yes to `question`; rejects with
 * ABORTED otherwise. Without a terminal there is nobody to ask: refused, naming `--yes`.
 * The question goes to stderr, so stdout stays the command's result.
 */
export async function confirm(question: string, what: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `${what} cannot be undone and there is no terminal to confirm it on; to go ahead, add --yes`,
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // End of input (Ctrl-D) is a no.
  const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
  try {
    const answer = await Promise.race([rl.question(`${question} [y/N] `), closed]);
    if (/^\s*y(es)?\s*$/i.test(answer)) return;
  } finally {
    rl.close();
  }
  throw new SkiffError(ErrorCode.ABORTED, 'not confirmed; nothing was changed');
}
