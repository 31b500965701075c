import { execFile, execFileSync } from 'node:child_process';

/** A command that failed: its words and what it said. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    options?: { cause: unknown },
  ) {
    super(`\`${argv.join(' ')}\` failed: ${stderr.trim() || String(options?.cause)}`, options);
    this.name = 'CommandError';
  }
}

const TIMEOUT_MS = 30_000;

/** Runs a short command (ip, nft) to completion; resolves with its stdout, rejects with a CommandError. */
export function run(argv: readonly string[], input?: string): Promise<string> {
  const [command, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = execFile(
      command!,
      args,
      { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new CommandError(argv, stderr, { cause: err }));
        else resolve(stdout);
      },
    );
    // A command that fails early (a namespace already gone) may never read its input.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}

/** The same, synchronously: for clean-up at process exit, where nothing asynchronous runs. */
export function runSync(argv: readonly string[]): void {
  const [command, ...args] = argv;
  try {
    execFileSync(command!, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: TIMEOUT_MS });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new CommandError(argv, stderr, { cause: err });
  }
}
