import { execFileSync, spawn } from 'node:child_process';
import { withTimeout } from './wait.js';

/**
 * Two network namespaces made by the test, A and B, joined by a veth pair (the link's path,
 * which a test cuts with `ip link set down`), and a veth pair from this namespace into A (so
 * the test process reaches A's listeners). Names carry the pid, so runs never collide, and
 * dispose() (also run at process exit) deletes both namespaces and with them every veth.
 * Needs root, `ip` and, for loss(), nftables. Traffic stays inside the namespaces made here:
 *
 *   test process -- hostA (root end) == clientA (in A) ... linkA (in A) == linkB (in B)
 */
export class NetnsLab {
  readonly nsA: string;
  readonly nsB: string;
  /** A's address on the A-B pair: A's link host. */
  readonly linkA: string;
  /** B's address on the A-B pair. */
  readonly linkB: string;
  /** A's address on the pair from the test's namespace: where A's listeners bind. */
  readonly clientA: string;
  private readonly vethA: string;
  private readonly vethB: string;
  private readonly vethHost: string;
  private disposed = false;
  private readonly onExit = (): void => this.dispose();

  private constructor(pid: number, subnet: number) {
    this.nsA = `skiff-a-${pid}`;
    this.nsB = `skiff-b-${pid}`;
    this.vethA = `sk${pid}a`;
    this.vethB = `sk${pid}b`;
    this.vethHost = `sk${pid}h`;
    // RFC 2544's benchmarking range: never routed anywhere, here only inside these namespaces.
    this.linkA = `198.18.${subnet}.1`;
    this.linkB = `198.18.${subnet}.2`;
    this.clientA = `198.18.${subnet}.6`;
  }

  static create(): NetnsLab {
    const pid = process.pid;
    const lab = new NetnsLab(pid, pid % 250);
    process.once('exit', lab.onExit);
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
    ip(
      'link',
      'add',
      this.vethHost,
      'type',
      'veth',
      'peer',
      'name',
      `${this.vethHost}x`,
      'netns',
      nsA,
    );
    const hostAddr = this.clientA.replace(/\.6$/, '.5');
    ip('addr', 'add', `${hostAddr}/30`, 'dev', this.vethHost);
    ip('-n', nsA, 'addr', 'add', `${this.clientA}/30`, 'dev', `${this.vethHost}x`);
    for (const ns of [nsA, nsB]) ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('link', 'set', this.vethHost, 'up');
    ip('-n', nsA, 'link', 'set', `${this.vethHost}x`, 'up');
    this.heal();
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
  async delayProxy(
    ns: string,
    listen: { host: string; port: number },
    target: { host: string; port: number },
    delayMs: number,
  ): Promise<{ close(): Promise<void> }> {
    const script = new URL('./delay-proxy-main.js', import.meta.url).pathname;
    const child = spawn(
      'ip',
      [
        ...this.prefix(ns).slice(1),
        process.execPath,
        script,
        listen.host,
        String(listen.port),
        target.host,
        String(target.port),
        String(delayMs),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', kill);
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        void closed.then(() => reject(new Error('the delay proxy exited')));
      }),
      10_000,
      'the delay proxy to listen',
    ).catch((err: Error) => {
      kill();
      throw err;
    });
    return {
      async close() {
        process.off('exit', kill);
        kill();
        await closed;
      },
    };
  }

  /** Deletes both namespaces (their veths go with them). Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.onExit);
    for (const ns of [this.nsA, this.nsB]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
