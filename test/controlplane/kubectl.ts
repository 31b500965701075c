import { spawn } from 'node:child_process';

export interface KubectlResult {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The command line, for assertion messages. */
  command: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. manifests for `apply -f -`), which is then closed. */
  input?: string;
  /** kubectl is killed and the call rejects after this long (default 60 s). */
  timeoutMs?: number;
  /** Words in front of kubectl, e.g. ['ip', 'netns', 'exec', NS]. */
  wrapper?: readonly string[];
}

/**
 * Runs `kubectl --kubeconfig KUBECONFIG ...args` to completion. Never rejects for a
 * non-zero exit (tests assert on it), only if kubectl cannot start or outlives its timeout.
 */
export function runKubectl(
  bin: string,
  kubeconfig: string,
  args: readonly string[],
  { input, timeoutMs = 60_000, wrapper = [] }: KubectlOptions = {},
): Promise<KubectlResult> {
  const argv = [...wrapper, bin, '--kubeconfig', kubeconfig, ...args];
  const command = `kubectl ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    // KUBECONFIG from the developer's shell must not add contexts behind the test's back.
    const env = { ...process.env };
    delete env.KUBECONFIG;
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
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
      // kubectl may exit without reading its stdin.
    });
    child.stdin.end(input ?? '');
  });
}
