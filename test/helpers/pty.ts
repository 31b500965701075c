/**
 * The real CLI on a pseudo-terminal, as a person at a terminal runs it. util-linux script(1)
 * (Debian's bsdutils, always installed) makes the pty; inside it `stty` turns off the
 * \n -> \r\n translation and echo, so what the test reads is byte for byte what skiff wrote.
 * stderr is always the terminal; stdout is too, or a file, so a test can check that a
 * command's stdout carries nothing but its result while progress is drawn on the terminal.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWithTestProcess } from './children.js';
import { childEnv, skiffBin } from './cli.js';
import { withTimeout } from './wait.js';

export const PTY_COLUMNS = 120;
/** What the terminal's line discipline turns into SIGINT for the foreground process. */
export const CTRL_C = '\x03';

export interface PtyResult {
  /** The exit code; a process killed by signal N gives 128 + N (script(1) -e). */
  code: number | null;
  /** Everything written to the terminal. */
  terminal: string;
  /** stdout, when it went to a file (`stdout: 'file'`); otherwise part of `terminal`. */
  stdout: string | undefined;
}

export interface PtyOptions {
  /** 'terminal' (default): stdout is the terminal too; 'file': stdout is a plain file. */
  stdout?: 'terminal' | 'file';
  /** The run is killed and `done` rejects after this long (default 30 s). */
  timeoutMs?: number;
}

/** A running `skiff [--state-dir D] ...args` on a pty. */
export class PtyRun {
  terminal = '';
  readonly done: Promise<PtyResult>;
  private readonly changed = new Set<() => void>();
  private readonly input: NodeJS.WritableStream;

  private constructor(
    stateDir: string | undefined,
    args: readonly string[],
    outFile: string | undefined,
    timeoutMs: number,
  ) {
    const argv = [
      process.execPath,
      skiffBin,
      ...(stateDir ? ['--state-dir', stateDir] : []),
      ...args,
    ];
    const redirect = outFile === undefined ? '' : ` > ${shellQuote(outFile)}`;
    const command = `stty -onlcr -echo cols ${PTY_COLUMNS} rows 40 && exec ${argv.map(shellQuote).join(' ')}${redirect}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: childEnv({ SHELL: '/bin/sh' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    killWithTestProcess(child);
    this.input = child.stdin;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.terminal += chunk;
      for (const notify of this.changed) notify();
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    this.done = withTimeout(exited, timeoutMs, `skiff ${args.join(' ')} on a pty`)
      .catch((err: Error) => {
        child.kill('SIGKILL');
        throw new Error(
          `${err.message}; terminal so far: ${JSON.stringify(this.terminal)}; script stderr: ${stderr}`,
        );
      })
      .then(async (code) => ({
        code,
        terminal: this.terminal,
        stdout: outFile === undefined ? undefined : await readFile(outFile, 'utf8').catch(() => ''),
      }));
  }

  static async start(
    stateDir: string | undefined,
    args: readonly string[],
    { stdout = 'terminal', timeoutMs = 30_000 }: PtyOptions = {},
  ): Promise<PtyRun> {
    let outFile: string | undefined;
    if (stdout === 'file') {
      const dir = await mkdtemp(join(tmpdir(), 'skiff-pty-'));
      outFile = join(dir, 'stdout');
      const run = new PtyRun(stateDir, args, outFile, timeoutMs);
      void run.done.finally(() => rm(dir, { recursive: true, force: true })).catch(() => {});
      return run;
    }
    return new PtyRun(stateDir, args, outFile, timeoutMs);
  }

  /** Types `text` at the terminal (CTRL_C for Ctrl-C). */
  type(text: string): void {
    this.input.write(text);
  }

  /** Resolves once the terminal output so far satisfies `test`. */
  async waitForTerminal(
    what: string,
    test: (terminal: string) => boolean,
    timeoutMs = 15_000,
  ): Promise<void> {
    if (test(this.terminal)) return;
    let notify!: () => void;
    const seen = new Promise<void>((resolve) => {
      notify = () => {
        if (test(this.terminal)) resolve();
      };
      this.changed.add(notify);
    });
    try {
      await withTimeout(
        Promise.race([
          seen,
          this.done.then(() => {
            throw new Error(
              `the command ended before ${what}; terminal: ${JSON.stringify(this.terminal)}`,
            );
          }),
        ]),
        timeoutMs,
        what,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; terminal: ${JSON.stringify(this.terminal)}`);
      });
    } finally {
      this.changed.delete(notify);
    }
  }
}

/** `skiff ...args` on a pty, to completion. */
export async function runOnPty(
  stateDir: string | undefined,
  args: readonly string[],
  options?: PtyOptions,
): Promise<PtyResult> {
  return (await PtyRun.start(stateDir, args, options)).done;
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

const ESC = '\x1b';
/** A CSI control sequence, a carriage return, a newline, or a run of anything else. */
const TOKEN = new RegExp(`${ESC}\\[[0-9;]*[A-Za-z]|\r|\n|[^${ESC}\r\n]+`, 'gu');

/**
 * The lines a person sees once `output` has been drawn on a terminal: `\r` returns to the
 * line's start, ESC[2K erases the line, ESC[H ESC[2J clears the screen, other text overwrites.
 * Trailing empty lines are dropped. Any other control sequence fails the test: skiff writes no other.
 */
export function screen(output: string): string[] {
  let lines: string[] = [''];
  let col = 0;
  const tokens = output.match(TOKEN) ?? [];
  for (const token of tokens) {
    const row = lines.length - 1;
    if (token === '\r') col = 0;
    else if (token === '\n') {
      lines.push('');
      col = 0;
    } else if (token === '\x1b[2K') lines[row] = '';
    else if (token === '\x1b[H') {
      // Followed by ESC[2J in everything skiff writes: the clear below restarts the screen.
    } else if (token === '\x1b[2J') {
      lines = [''];
      col = 0;
    } else if (token.startsWith(ESC)) {
      throw new Error(
        `unexpected control sequence ${JSON.stringify(token)} in ${JSON.stringify(output)}`,
      );
    } else {
      const line = lines[row]!.padEnd(col);
      lines[row] = line.slice(0, col) + token + line.slice(col + token.length);
      col += token.length;
    }
  }
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}
