import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import { killWithTestProcess } from '../helpers/children.js';

/** How one control-plane process is run. */
export interface ProcessSpec {
  /** Names it in errors, e.g. `kube-apiserver`. */
  name: string;
  command: string;
  args: readonly string[];
  /** Its stdout and stderr, appended (a restart adds to the same file). */
  logFile: string;
  /**
   * Words in front of the command, each exec-ing the next so the pid stays the process's,
   * e.g. ['ip', 'netns', 'exec', NS] to run it in a network namespace.
   */
  wrapper?: readonly string[];
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
}

const READY_POLL_MS = 100;

/**
 * A control-plane child process (etcd, kube-apiserver, kube-controller-manager): logs to a
 * file, dies with the test process, and is stopped with SIGTERM, then SIGKILL if it lingers.
 */
export class ControlPlaneProcess {
  /** Resolves when the process has exited (it never rejects). */
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;

  private constructor(
    readonly spec: ProcessSpec,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.status = { code, signal };
        resolve(this.status);
      });
    });
  }

  static start(spec: ProcessSpec): ControlPlaneProcess {
    const [command, ...words] = [...(spec.wrapper ?? []), spec.command, ...spec.args];
    const log = openSync(spec.logFile, 'a');
    try {
      const child = spawn(command!, words, { stdio: ['ignore', log, log] });
      killWithTestProcess(child);
      return new ControlPlaneProcess(spec, child);
    } finally {
      closeSync(log);
    }
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.spec.name} did not start`);
    return this.child.pid;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** The log's last lines, for an error message. */
  logTail(lines = 25): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * Polls `check` (a health endpoint: there is no event to await) until it holds. Fails at
   * once if the process exits meanwhile, and after `timeoutMs`; both say what the log ends with.
   */
  async waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.status) throw this.failure(`exited (${describeExit(this.status)}) before ${what}`);
      if (await check()) return;
      if (Date.now() >= deadline) throw this.failure(`was not ${what} after ${timeoutMs} ms`);
      await delay(READY_POLL_MS);
    }
  }

  failure(what: string): Error {
    return new Error(`${this.spec.name} ${what}; ${this.spec.logFile} ends:\n${this.logTail()}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. Safe to call twice. */
  async stop(graceMs = 10_000): Promise<ExitStatus> {
    if (this.status) return this.status;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Where an HTTP health endpoint is: a TCP address or a unix socket, with TLS if given. */
export interface HttpTarget {
  host?: string;
  port?: number;
  socketPath?: string;
  /** HTTPS with this CA, and a client certificate if the server asks who is probing. */
  tls?: { ca: string; cert?: string; key?: string; servername?: string };
}

const PROBE_TIMEOUT_MS = 2_000;

/** A GET's status and body; a connection error or timeout rejects. */
export function httpGet(
  target: HttpTarget,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = {
      host: target.host,
      port: target.port,
      socketPath: target.socketPath,
      path,
      timeout: PROBE_TIMEOUT_MS,
    };
    const callback = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    const req = target.tls
      ? httpsRequest({ ...options, ...target.tls, agent: false }, callback)
      : httpRequest({ ...options, agent: false }, callback);
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Whether a health endpoint (/readyz, /livez, /health) answers 200 now. */
export async function healthy(target: HttpTarget, path: string): Promise<boolean> {
  try {
    return (await httpGet(target, path)).status === 200;
  } catch {
    return false;
  }
}
