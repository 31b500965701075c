import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTimeout } from './wait.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** A helper process running inside a namespace; close() kills it and awaits the exit. */
export interface NsProcess {
  close(): Promise<void>;
}

/** A unix-socket bridge (unix-bridge-main.js) into a namespace: dial `path` to reach its target. */
export interface NsBridge extends NsProcess {
  readonly path: string;
}

/**
 * Two network namespaces made by the test, A and B, joined by a veth pair (the link's path,
 * which a test cuts with `ip link set down`). Nothing is added to the test's own namespace:
 * no veth end, no address. What runs in a namespace is started there (`prefix`), and the
 * test process reaches a listener inside one through a filesystem unix socket bridged to it
 * by a process in that namespace (bridge()). Names carry the pid, so runs never collide,
 * and dispose() (also run at process exit) kills the helper processes, deletes both
 * namespaces (their veths go with them) and the socket dir. Needs root, `ip` and, for
 * loss(), nftables. Traffic stays inside the namespaces made here:
 *
 *   test process -- unix socket -- bridge (in A) -- A's loopback ... linkA (in A) == linkB (in B)
 */
export class NetnsLab {
  readonly nsA: string;
  readonly nsB: string;
  /** A's address on the A-B pair: A's link host. */
  readonly linkA: string;
  /** B's address on the A-B pair. */
  readonly linkB: string;
  /** Where listeners bind inside a namespace: its own loopback, reached through bridge(). */
  readonly loopback = '127.0.0.1';
  private readonly vethA: string;
  private readonly vethB: string;
  private readonly children = new Set<ChildProcess>();
  private socketDir: string | undefined;
  private bridges = 0;
  private disposed = false;
  private readonly onExit = (): void => this.dispose();
  // A test process stopped by a signal (Ctrl-C, a runner's timeout) cleans up, then dies of it.
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.dispose();
    process.kill(process.pid, signal);
  };

  private constructor(pid: number, subnet: number) {
    this.nsA = `skiff-a-${pid}`;
    this.nsB = `skiff-b-${pid}`;
    this.vethA = `sk${pid}a`;
    this.vethB = `sk${pid}b`;
    // RFC 2544's benchmarking range: never routed anywhere, here only inside these namespaces.
    this.linkA = `198.18.${subnet}.1`;
    this.linkB = `198.18.${subnet}.2`;
  }

  static create(): NetnsLab {
    const pid = process.pid;
    const lab = new NetnsLab(pid, pid % 250);
    process.once('exit', lab.onExit);
    for (const signal of SIGNALS) process.once(signal, lab.onSignal);
    try {
      lab.setUp();
    } catch (err) {
      lab.dispose();
      throw err;
    }
    return lab;
  }

  private setUp(): void {
    const { nsA, nsB } = this;
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip(
      'link',
      'add',
      this.vethA,
      'netns',
      nsA,
      'type',
      'veth',
      'peer',
      'name',
      this.vethB,
      'netns',
      nsB,
    );
    ip('-n', nsA, 'addr', 'add', `${this.linkA}/30`, 'dev', this.vethA);
    ip('-n', nsB, 'addr', 'add', `${this.linkB}/30`, 'dev', this.vethB);
    for (const ns of [nsA, nsB]) ip('-n', ns, 'link', 'set', 'lo', 'up');
    this.heal();
    this.socketDir = mkdtempSync(join(tmpdir(), `skiff-netns-${process.pid}-`));
  }

  /** Words that run a command inside namespace `ns` (exec, no fork: the pid stays the command's). */
  prefix(ns: string): string[] {
    return ['ip', 'netns', 'exec', ns];
  }

  /** Takes both ends of the A-B pair down: nothing crosses, sends fail with no route. */
  partition(): void {
    ip('-n', this.nsA, 'link', 'set', this.vethA, 'down');
    ip('-n', this.nsB, 'link', 'set', this.vethB, 'down');
  }

  /** Brings both ends of the A-B pair up again. */
  heal(): void {
    ip('-n', this.nsA, 'link', 'set', this.vethA, 'up');
    ip('-n', this.nsB, 'link', 'set', this.vethB, 'up');
  }

  /** Drops `percent`% of the packets B sends and receives (nftables `numgen random`). */
  loss(percent: number): void {
    const rules = [
      'table inet skiff_loss {',
      ...['input', 'output'].map(
        (hook) =>
          `  chain ${hook} { type filter hook ${hook} priority 0; policy accept; ` +
          `iifname "lo" accept; oifname "lo" accept; numgen random mod 100 < ${percent} drop; }`,
      ),
      '}',
    ].join('\n');
    execFileSync('ip', ['netns', 'exec', this.nsB, 'nft', '-f', '-'], { input: rules });
  }

  /** Removes the loss rules. */
  noLoss(): void {
    execFileSync('ip', ['netns', 'exec', this.nsB, 'nft', 'delete', 'table', 'inet', 'skiff_loss']);
  }

  /** Starts a delay proxy (delay-proxy-main.js) inside `ns`; resolves once it listens. */
  delayProxy(
    ns: string,
    listen: { host: string; port: number },
    target: { host: string; port: number },
    delayMs: number,
  ): Promise<NsProcess> {
    const args = [listen.host, String(listen.port), target.host, String(target.port)];
    return this.helper(ns, 'delay-proxy-main.js', [...args, String(delayMs)], 'the delay proxy');
  }

  /**
   * Starts a unix-socket bridge (unix-bridge-main.js) inside `ns` to `target` there (e.g. a
   * listener on the namespace's loopback); resolves once its socket is bound.
   */
  async bridge(ns: string, target: { host: string; port: number }): Promise<NsBridge> {
    if (this.socketDir === undefined) throw new Error('the lab is not set up');
    const path = join(this.socketDir, `bridge-${++this.bridges}.sock`);
    const helper = await this.helper(
      ns,
      'unix-bridge-main.js',
      [path, `${target.host}:${target.port}`],
      'the unix bridge',
    );
    return { path, close: () => helper.close() };
  }

  /** Runs helper `script` (next to this file) inside `ns`; resolves at its first output. */
  private async helper(
    ns: string,
    script: string,
    args: string[],
    what: string,
  ): Promise<NsProcess> {
    const file = new URL(`./${script}`, import.meta.url).pathname;
    const [command, ...words] = [...this.prefix(ns), process.execPath, file, ...args];
    const child = spawn(command!, words, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.add(child);
    const closed = new Promise<void>((resolve) =>
      child.once('close', () => {
        this.children.delete(child);
        resolve();
      }),
    );
    const close = async (): Promise<void> => {
      child.kill('SIGKILL');
      await closed;
    };
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        void closed.then(() => reject(new Error(`${what} exited`)));
      }),
      10_000,
      `${what} to listen`,
    ).catch(async (err: Error) => {
      await close();
      throw err;
    });
    return { close };
  }

  /**
   * Kills the helper processes, deletes both namespaces (their veths go with them) and the
   * socket dir. Synchronous, so it also runs at process exit. Safe to call twice.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.onExit);
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of [this.nsA, this.nsB]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
    if (this.socketDir !== undefined) rmSync(this.socketDir, { recursive: true, force: true });
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
