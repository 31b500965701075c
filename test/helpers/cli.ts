import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the nearest ancestor with skiff's package.json (works from test/ and dist/test/). */
export const repoRoot: string = findRepoRoot(import.meta.dirname);

/** The CLI entry point, run with this same node binary. */
export const skiffBin: string = join(repoRoot, 'bin', 'skiff.js');

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (pkg.name === 'skiff') return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no skiff package.json above ${start}`);
  }
}

/**
 * The environment for skiff child processes: ours, minus what would change their behaviour
 * behind the test's back (a state dir from the developer's shell, node:test's child marker).
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SKIFF_STATE_DIR;
  delete env.SKIFF_LOG_LEVEL;
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return { ...env, ...extra };
}

export interface CliResult {
  /** The exit code, or null when a signal ended the process. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The full command, for assertion messages. */
  command: string;
}

export interface CliOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** The command is killed and runCli rejects after this long (default 30 s). */
  timeoutMs?: number;
  /** Words the command runs under, e.g. `ip netns exec NS` to reach a test cluster's API server. */
  wrapper?: readonly string[];
}

/**
 * Runs `skiff [--state-dir stateDir] ...args` to completion. Never rejects for a non-zero
 * exit (tests assert on it); rejects only if the command cannot start or outlives its timeout.
 */
export function runCli(
  stateDir: string | undefined,
  args: readonly string[],
  { input, env, timeoutMs = 30_000, wrapper = [] }: CliOptions = {},
): Promise<CliResult> {
  const argv = [...(stateDir === undefined ? [] : ['--state-dir', stateDir]), ...args];
  const command = `skiff ${argv.join(' ')}`;
  return new Promise((resolve, reject) => {
    const [file, ...words] = [...wrapper, process.execPath, skiffBin, ...argv];
    const child = spawn(file!, words, {
      env: childEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, command });
    });
    child.stdin.on('error', () => {
      // The command may exit without reading its stdin; that is not the test's concern.
    });
    child.stdin.end(input ?? '');
  });
}

/** Asserts the command succeeded and parses its stdout (run it with `-o json`) as it is. */
export function jsonDocument(result: CliResult): Record<string, unknown> {
  assert.equal(
    result.code,
    0,
    `${result.command} exited ${result.code}: ${result.stderr.trim() || '(no stderr)'}`,
  );
  let doc: unknown;
  try {
    doc = JSON.parse(result.stdout);
  } catch (err) {
    throw new Error(`${result.command} printed no JSON: ${JSON.stringify(result.stdout)}`, {
      cause: err,
    });
  }
  assert.ok(typeof doc === 'object' && doc !== null && !Array.isArray(doc), result.command);
  return doc as Record<string, unknown>;
}

/**
 * What a `-o json` document carries, without its envelope (docs/cli-output.md): a list's
 * items, or the item's own fields (no apiVersion, kind, action). The envelope is checked
 * here only for its schema version; test/integration/cli-output.test.ts checks the rest.
 */
export function json<T>(result: CliResult): T {
  const { apiVersion, kind, action: _action, ...item } = jsonDocument(result);
  assert.equal(apiVersion, 'skiff.dev/v1', `${result.command}: apiVersion`);
  if (typeof kind === 'string' && kind.endsWith('List')) return item.items as T;
  return item as T;
}

/** Runs `skiff --state-dir D -o json ...args`, asserts success and returns the parsed output. */
export async function cliJson<T>(
  stateDir: string,
  args: readonly string[],
  options?: CliOptions,
): Promise<T> {
  return json<T>(await runCli(stateDir, ['-o', 'json', ...args], options));
}

/** Runs a command that must succeed, returning its result. */
export async function cliOk(
  stateDir: string,
  args: readonly string[],
  options?: CliOptions,
): Promise<CliResult> {
  const result = await runCli(stateDir, args, options);
  assert.equal(
    result.code,
    0,
    `${result.command} exited ${result.code}: ${result.stderr.trim() || '(no stderr)'}`,
  );
  return result;
}

export interface CliJsonError {
  code: string;
  message: string;
}

/**
 * Asserts the contract for a command refused with `-o json`: a non-zero exit, nothing on
 * stdout, and stderr exactly one line, `{"error":{"code":"SKIFF_ERR_...","message":"..."}}`.
 */
export function assertCliJsonError(result: CliResult, code?: string): CliJsonError {
  assert.notEqual(result.code, 0, `${result.command} should have failed: ${result.stdout}`);
  assert.notEqual(result.code, null, `${result.command} was killed by a signal`);
  assert.equal(result.stdout, '', `${result.command}: nothing on stdout`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${result.command}: expected one stderr line:\n${result.stderr}`);
  const doc = JSON.parse(lines[0]!) as { error?: Partial<CliJsonError> };
  assert.deepEqual(Object.keys(doc), ['error'], `${result.command}: ${lines[0]}`);
  const { error } = doc;
  assert.ok(error && typeof error.code === 'string' && typeof error.message === 'string');
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message'], lines[0]);
  assert.match(error.code, /^SKIFF_ERR_[A-Z_]+$/);
  if (code !== undefined) assert.equal(error.code, code, `${result.command}: ${lines[0]}`);
  return { code: error.code, message: error.message };
}

/**
 * Asserts the contract for a refused command: a non-zero exit and exactly one line on stderr
 * starting `skiff: `, matching `pattern` when given. Returns that line.
 */
export function assertCliError(result: CliResult, pattern?: RegExp): string {
  assert.notEqual(
    result.code,
    0,
    `${result.command} should have failed but exited 0: ${result.stdout}`,
  );
  assert.notEqual(result.code, null, `${result.command} was killed by a signal`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(
    lines.length,
    1,
    `${result.command}: expected one stderr line, got:\n${result.stderr}`,
  );
  const line = lines[0]!;
  assert.match(line, /^skiff: \S/, `${result.command}: stderr should start with "skiff: "`);
  if (pattern) assert.match(line, pattern, `${result.command}: unexpected error message`);
  return line;
}
