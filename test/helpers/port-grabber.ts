import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { killWithTestProcess } from './children.js';
import { childEnv } from './cli.js';
import { PORT_POOL } from './ports.js';
import { withTimeout } from './wait.js';

const script = new URL('./port-grabber-main.js', import.meta.url).pathname;

/** port-grabber-main.js: another process that takes ports from the pool tests pick from. */
export class PortGrabber {
  private readonly replies = new Map<number, (reply: { held?: number; code?: string }) => void>();
  private churned: ((count: number) => void) | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const reply = JSON.parse(line) as {
          held?: number;
          failed?: number;
          code?: string;
          churned?: number;
        };
        const port = reply.held ?? reply.failed;
        if (port !== undefined) this.replies.get(port)?.(reply);
        if (reply.churned !== undefined) this.churned?.(reply.churned);
      }
    });
    child.stderr.resume();
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
  }

  static start(): PortGrabber {
    const child = spawn(process.execPath, [script, String(PORT_POOL.low), String(PORT_POOL.high)], {
      env: childEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    killWithTestProcess(child);
    return new PortGrabber(child);
  }

  /** Makes the grabber listen on `port` until it stops; rejects if it could not. */
  async grab(port: number): Promise<void> {
    const reply = new Promise<{ held?: number; code?: string }>((resolve) => {
      this.replies.set(port, resolve);
    });
    this.child.stdin.write(`${JSON.stringify({ grab: port })}\n`);
    const { held, code } = await withTimeout(reply, 10_000, `the grabber to take port ${port}`);
    this.replies.delete(port);
    if (held === undefined) throw new Error(`the grabber could not take port ${port}: ${code}`);
  }

  /** From now on the grabber takes `perSecond` random pool ports a second, `holdMs` each. */
  churn(perSecond: number, holdMs: number): void {
    this.child.stdin.write(`${JSON.stringify({ churn: { perSecond, holdMs } })}\n`);
  }

  /** Releases every port and ends the process; resolves with how many ports churn took. */
  async stop(): Promise<number> {
    const count = new Promise<number>((resolve) => {
      this.churned = resolve;
    });
    this.child.stdin.end();
    const churned = await withTimeout(count, 10_000, 'the grabber to stop');
    await this.exited;
    return churned;
  }
}
