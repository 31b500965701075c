import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { killWithTestProcess } from './children.js';
import { childEnv } from './cli.js';
import { PayloadCheck, payloadAt } from './payload.js';
import { observeEnd, type SocketEnd } from './socket-end.js';
import { withTimeout } from './wait.js';

/** What target-main.js reported about one download or upload, from its end. */
export interface TargetSession {
  id: number;
  mode: 'D' | 'U';
  bytes: number;
  sent?: number;
  received?: number;
  mismatchAt?: number;
  outcome: 'complete' | 'reset' | 'fin-short' | 'corrupt' | 'too-long';
}

const script = new URL('./target-main.js', import.meta.url).pathname;
/**
 * target-main.js in its own process (optionally behind `prefix`, e.g. `ip netns exec NS`),
 * so a test can SIGKILL it. `sessions` fills with its reports.
 */
export class TargetProcess {
  readonly sessions: TargetSession[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly port: number,
    private readonly closed: Promise<void>,
  ) {}

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static async start({
    host = '127.0.0.1',
    port = 0,
    prefix = [],
  }: {
    host?: string;
    port?: number;
    prefix?: readonly string[];
  } = {}): Promise<TargetProcess> {
    const words = [...prefix, process.execPath, script, host, String(port)];
    const child = spawn(words[0]!, words.slice(1), {
      env: childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    killWithTestProcess(child);
    child.stdin.end();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const closed = new Promise<void>((resolve) =>
      child.once('close', () => {
        resolve();
      }),
    );
    let target: TargetProcess | undefined;
    const listening = new Promise<number>((resolve, reject) => {
      let partial = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          const event = JSON.parse(line) as { event: string; port?: number };
          if (event.event === 'listening') resolve(event.port ?? 0);
          else target?.onSession(event as unknown as TargetSession);
        }
      });
      void closed.then(() => reject(new Error(`target exited before listening: ${stderr}`)));
    });
    try {
      const boundPort = await withTimeout(listening, 10_000, 'the target process to listen');
      target = new TargetProcess(child, boundPort, closed);
      return target;
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  }

  private onSession(session: TargetSession): void {
    this.sessions.push(session);
    for (const wake of this.waiters) wake();
  }

  /** The index-th session report (0-based) of this process, once made (rejects after timeoutMs). */
  sessionAt(index: number, timeoutMs = 10_000): Promise<TargetSession> {
    const found = this.sessions[index];
    if (found) return Promise.resolve(found);
    let wake!: () => void;
    const seen = new Promise<TargetSession>((resolve) => {
      wake = () => {
        const session = this.sessions[index];
        if (session) resolve(session);
      };
      this.waiters.add(wake);
    });
    return withTimeout(seen, timeoutMs, `target session report #${index}`).finally(() =>
      this.waiters.delete(wake),
    );
  }

  /** SIGKILL, and await the exit. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.closed;
  }
}

/** How a transfer ended at the client. */
export interface ClientView extends SocketEnd {
  /** Bytes received (download) or sent (upload) before the end. */
  bytes: number;
  /** Everything arrived and checked (download), or the target confirmed the digest (upload). */
  complete: boolean;
  /** Stream position of the first wrong byte received, if any. */
  mismatchAt: number | undefined;
}

export interface TransferOptions {
  host?: string;
  /** A unix socket to dial instead of host:port (e.g. a NetnsLab bridge into a namespace). */
  path?: string;
  /** Called as the count of bytes received (download) or written (upload) grows. */
  onProgress?: (bytes: number, socket: Socket) => void;
  /** The whole transfer must end within this (default 60 s). */
  timeoutMs?: number;
}

function dial(host: string, port: number, path: string | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket =
      path === undefined
        ? netConnect({ host, port, allowHalfOpen: true, noDelay: true })
        : netConnect({ path, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function newView(): ClientView {
  return {
    bytes: 0,
    complete: false,
    fin: false,
    reset: undefined,
    disguisedReset: false,
    mismatchAt: undefined,
  };
}

/** Downloads `bytes` of the payload for `seed` from a target-main.js through `port`. */
export async function download(
  port: number,
  bytes: number,
  seed: number,
  { host = '127.0.0.1', path, onProgress, timeoutMs = 60_000 }: TransferOptions = {},
): Promise<ClientView> {
  const view = newView();
  const socket = await dial(host, port, path);
  const check = new PayloadCheck(seed);
  socket.on('data', (chunk: Buffer) => {
    check.push(chunk);
    view.bytes = check.bytes;
    view.mismatchAt = check.mismatchAt;
    view.complete = check.bytes === bytes && check.mismatchAt === undefined;
    onProgress?.(check.bytes, socket);
  });
  const done = observeEnd(socket, { complete: () => view.complete }).then((end) =>
    Object.assign(view, end),
  );
  socket.write(`D ${bytes} ${seed}\n`);
  await withTimeout(
    done,
    timeoutMs,
    `download of ${bytes} bytes through ${path ?? `port ${port}`}`,
  ).catch((err: Error) => {
    socket.destroy();
    throw err;
  });
  return view;
}

/** Uploads `bytes` of the payload for `seed` to a target-main.js through `port`. */
export async function upload(
  port: number,
  bytes: number,
  seed: number,
  { host = '127.0.0.1', path, onProgress, timeoutMs = 60_000 }: TransferOptions = {},
): Promise<ClientView> {
  const view = newView();
  const socket = await dial(host, port, path);
  const hash = createHash('sha256');
  let reply = '';
  socket.setEncoding('latin1').on('data', (text: string) => {
    reply += text;
    if (reply.length > 200) socket.destroy(new Error('reply too long'));
  });
  const done = observeEnd(socket, { complete: () => view.complete }).then((end) =>
    Object.assign(view, end),
  );
  socket.once('end', () => {
    // The digest is final only once everything was sent (digest() ends the hash).
    view.complete = view.bytes === bytes && reply === `ok ${hash.digest('hex')}\n`;
  });
  socket.write(`U ${bytes} ${seed}\n`);
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const send = async (): Promise<void> => {
    while (view.bytes < bytes && !socket.destroyed) {
      const chunk = payloadAt(seed, view.bytes, Math.min(64 * 1024, bytes - view.bytes));
      hash.update(chunk);
      view.bytes += chunk.length;
      onProgress?.(view.bytes, socket);
      if (!socket.write(chunk)) {
        await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed]);
      }
    }
  };
  await withTimeout(
    Promise.all([send(), done]),
    timeoutMs,
    `upload of ${bytes} bytes through ${path ?? `port ${port}`}`,
  ).catch((err: Error) => {
    socket.destroy();
    throw err;
  });
  return view;
}
