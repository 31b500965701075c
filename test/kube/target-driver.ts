import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '../cluster/cluster.js';
import { killWithTestProcess } from '../helpers/children.js';
import { repoRoot } from '../helpers/cli.js';
import { payloadAt } from '../helpers/payload.js';
import { withTimeout } from '../helpers/wait.js';

/** A connector record as the driver passes it to KubeTargets. */
export type Connector = Record<string, unknown> & { address: string; port: number };

/** One stream through the resolver to an echo pod (test/cluster/echo-main.ts). */
export interface Exchange {
  /** The pod that answered, as it names itself. */
  pod: string;
  sent: number;
  sentSha256: string;
  received: number;
  receivedSha256: string;
}

export interface Refused {
  error: string;
  code?: string;
}

/** A stream held open (its pod has said who it is); close() ends it and waits for its end. */
export interface Held {
  pod: string;
  close(): Promise<void>;
}

export type Readiness = { ready: number; total: number } | { error: string } | null;

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Runs targets-main.js in the cluster's network namespace (where pod addresses are
 * reachable, as from a router pod) and talks to it over a unix socket in a temp dir,
 * which both namespaces see. stop() ends the process and removes the directory.
 */
export class TargetDriver {
  private stderrTail = '';
  private partialLine = '';
  /** Every `target no longer followed` the process logged, in order. */
  private readonly unfollowed: string[] = [];
  private readonly logWaiters = new Set<() => void>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly socketPath: string,
  ) {
    child.stderr!.on('data', (chunk: Buffer) => this.onStderr(chunk.toString()));
  }

  private onStderr(text: string): void {
    this.stderrTail = (this.stderrTail + text).slice(-65536);
    const lines = (this.partialLine + text).split('\n');
    this.partialLine = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line) as { msg?: unknown; target?: unknown };
      if (event.msg === 'target no longer followed') this.unfollowed.push(String(event.target));
    }
    for (const wake of this.logWaiters) wake();
  }

  /** Starts it with `kubeconfig` (whose context names the namespace). */
  static async start(cluster: Cluster, kubeconfig: string): Promise<TargetDriver> {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-targets-'));
    const socketPath = join(dir, 'driver.sock');
    const main = join(repoRoot, 'dist', 'test', 'kube', 'targets-main.js');
    const [command, ...args] = [...cluster.wrapper, process.execPath, main, socketPath];
    const child = spawn(command!, args, {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killWithTestProcess(child);
    const driver = new TargetDriver(child, dir, socketPath);
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          child.stdout!.once('data', () => resolve());
          child.once('exit', (code) => reject(new Error(`targets-main.js exited ${code}`)));
        }),
        15_000,
        'targets-main.js to listen',
      );
    } catch (err) {
      await driver.stop();
      throw new Error(`${(err as Error).message}; its stderr: ${driver.stderrTail}`);
    }
    return driver;
  }

  /** What it logged last (pino JSON lines), for failure messages. */
  get log(): string {
    return this.stderrTail;
  }

  /**
   * Resolves once the process has logged `target no longer followed` for every one of
   * `targets`. The log reaches the pipe after the reply that caused it (pino writes
   * asynchronously), so a test awaits it rather than reading what has come so far.
   */
  untilUnfollowed(targets: readonly string[], timeoutMs = 10_000): Promise<void> {
    const missing = () => targets.filter((t) => !this.unfollowed.includes(t));
    if (missing().length === 0) return Promise.resolve();
    let wake = () => {};
    const done = new Promise<void>((resolve) => {
      wake = () => {
        if (missing().length === 0) resolve();
      };
      this.logWaiters.add(wake);
    });
    return withTimeout(done, timeoutMs, `"target no longer followed" for ${targets.join(', ')}`)
      .catch((err: Error) => {
        throw new Error(`${err.message}; logged so far: ${this.unfollowed.join(', ')}`);
      })
      .finally(() => this.logWaiters.delete(wake));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  setConnectors(connectors: Connector[]): Promise<{ followed: string[] }> {
    return this.ask({ op: 'connectors', connectors }) as Promise<{ followed: string[] }>;
  }

  readiness(connector: Connector): Promise<{ readiness: Readiness; openEndpoints: number }> {
    return this.ask({ op: 'readiness', connector }) as Promise<{
      readiness: Readiness;
      openEndpoints: number;
    }>;
  }

  /**
   * A stream to the connector's target: reads the pod's name line, sends `bytes` of the
   * payload for `seed`, FIN, and reads the echo to its end. Or the refusal.
   */
  async exchange(connector: Connector, bytes: number, seed = 1): Promise<Exchange | Refused> {
    const opened = await this.open(connector);
    if ('error' in opened) return opened;
    const { socket, pod, early } = opened;
    return withTimeout(
      new Promise<Exchange>((resolve, reject) => {
        const sent = createHash('sha256');
        const received = createHash('sha256').update(early);
        let got = early.length;
        let total = 0;
        socket.on('data', (chunk: Buffer) => {
          received.update(chunk);
          got += chunk.length;
        });
        socket.once('error', reject);
        socket.once('end', () => {
          socket.end();
          resolve({
            pod,
            sent: total,
            sentSha256: sent.digest('hex'),
            received: got,
            receivedSha256: received.digest('hex'),
          });
        });
        socket.resume();
        void (async () => {
          while (total < bytes) {
            const chunk = payloadAt(seed, total, bytes - total);
            sent.update(chunk);
            total += chunk.length;
            if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
          }
          socket.end();
        })();
      }),
      REQUEST_TIMEOUT_MS,
      `a stream to ${pod} to finish`,
    );
  }

  /** A stream held open once its pod has named itself. */
  async hold(connector: Connector): Promise<Held | Refused> {
    const opened = await this.open(connector);
    if ('error' in opened) return opened;
    const { socket, pod } = opened;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', () => undefined);
    socket.resume();
    return {
      pod,
      close: async () => {
        socket.end();
        await withTimeout(closed, REQUEST_TIMEOUT_MS, `the held stream to ${pod} to close`);
      },
    };
  }

  /** A failure to reach the driver, with why it is gone if it exited. */
  private unreachable(err: unknown): Error {
    const { exitCode, signalCode } = this.child;
    if (exitCode === null && signalCode === null) return err as Error;
    return new Error(
      `targets-main.js exited (${exitCode ?? signalCode}): ${(err as Error).message}; its stderr: ${this.stderrTail.slice(-8192)}`,
    );
  }

  /** Asks for a stream: on success the socket is paused after the pod's name line. */
  private async open(
    connector: Connector,
  ): Promise<{ socket: Socket; pod: string; early: Buffer } | Refused> {
    const socket = connect(this.socketPath);
    socket.setNoDelay?.(true);
    try {
      const lines = await withTimeout(
        readLines(socket, 2, `${JSON.stringify({ op: 'dial', connector, timeoutMs: 5000 })}\n`),
        REQUEST_TIMEOUT_MS,
        `a stream to ${connector.address}`,
      );
      const answer = JSON.parse(lines.lines[0]!) as { ok?: true } & Partial<Refused>;
      if (!answer.ok) {
        socket.destroy();
        return { error: String(answer.error), ...(answer.code ? { code: answer.code } : {}) };
      }
      return { socket, pod: lines.lines[1]!, early: lines.rest };
    } catch (err) {
      socket.destroy();
      throw this.unreachable(err);
    }
  }

  private async ask(request: object): Promise<unknown> {
    const socket = connect(this.socketPath);
    try {
      const { lines } = await withTimeout(
        readLines(socket, 1, `${JSON.stringify(request)}\n`),
        REQUEST_TIMEOUT_MS,
        'the driver to answer',
      );
      return JSON.parse(lines[0]!);
    } catch (err) {
      throw this.unreachable(err);
    } finally {
      socket.destroy();
    }
  }
}

/**
 * Sends `request`, then reads `count` lines, or fewer if the other end ends first (a
 * refusal is one line, then the end); pauses the socket and returns what came after them.
 */
function readLines(
  socket: Socket,
  count: number,
  request: string,
): Promise<{ lines: string[]; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const lines: string[] = [];
    const done = () => {
      socket.off('data', onData);
      socket.off('end', done);
      socket.pause();
      resolve({ lines, rest: head });
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      for (let nl = head.indexOf(10); nl >= 0 && lines.length < count; nl = head.indexOf(10)) {
        lines.push(head.subarray(0, nl).toString());
        head = head.subarray(nl + 1);
      }
      if (lines.length >= count) done();
    };
    socket.on('data', onData);
    socket.once('end', done);
    socket.once('error', reject);
    socket.write(request);
  });
}

/** The exchange's bytes came back as they went. */
export function isExchange(outcome: Exchange | Refused): outcome is Exchange {
  return !('error' in outcome);
}
