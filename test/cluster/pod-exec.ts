import { spawn } from 'node:child_process';
import type { RunAs } from './container-spec.js';

/** The output of a command run in a pod's container. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const EXEC_TIMEOUT_MS = 60_000;

/**
 * Runs `argv` as `kubectl exec` would in the container whose process is `pid`: in its
 * network, mount and UTS namespaces (nsenter), as its user, with its environment. Resolves
 * when it exits (killed after a minute); rejects only if nsenter cannot start.
 */
export function execIn(
  pid: number,
  user: RunAs,
  env: Readonly<Record<string, string>>,
  argv: readonly string[],
  input?: string,
): Promise<ExecResult> {
  const words = ['nsenter', `--target=${pid}`, '--net', '--mount', '--uts'];
  if (user.uid !== 0 || user.gid !== 0) words.push(`--setuid=${user.uid}`, `--setgid=${user.gid}`);
  const [command, ...args] = [...words, '--', ...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, { env: { ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), EXEC_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}
