import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SiteStatus } from '../../src/admin/api.js';
import { killWithTestProcess } from '../helpers/children.js';
import { type CliResult, childEnv, cliJson, runCli, skiffBin } from '../helpers/cli.js';
import { PortTaken, pickPort, saysPortInUse, withFreePort } from '../helpers/ports.js';
import { type EventPredicate, type RouterEvent, routerLaunch } from '../helpers/router.js';
import { withTimeout } from '../helpers/wait.js';
import { ok, type SiteNamespace } from './site-namespace.js';

interface Waiter {
  predicate: EventPredicate;
  resolve(event: RouterEvent): void;
  reject(err: Error): void;
}

export interface KubeRouterOptions {
  ns: SiteNamespace;
  /** Extra environment (SKIFF_SITE_NAME...). */
  env?: NodeJS.ProcessEnv;
  /** Global options before `site run` (e.g. -o json). */
  globalArgs?: readonly string[];
}

/**
 * `skiff --platform kubernetes site run` as a host process, authenticated as the namespace's
 * router ServiceAccount (KUBECONFIG with its token), so the real RBAC authorizer checks
 * every call against the Role. Its admin socket is in a temp run dir (`--state-dir`), which
 * `cli()` talks to as `skiff --state-dir` does. Events are its stderr's JSON log lines.
 */
export class KubeRouter {
  readonly events: RouterEvent[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly stderrTail: string[] = [];
  private child: ChildProcessWithoutNullStreams | undefined;
  private closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  /** The link port a site created by the first start takes. */
  linkPort = 0;
  /** From spawn to `router ready`, at the latest start. */
  readyMs = 0;
  private started = false;

  private constructor(
    readonly ns: SiteNamespace,
    readonly runDir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly globalArgs: readonly string[],
  ) {}

  static async create(opts: KubeRouterOptions): Promise<KubeRouter> {
    const runDir = await mkdtemp(join(tmpdir(), `skiff-kube-${opts.ns.name}-`));
    return new KubeRouter(opts.ns, runDir, opts.env ?? {}, opts.globalArgs ?? []);
  }

  /** create() then start(). */
  static async started(opts: KubeRouterOptions): Promise<KubeRouter> {
    const router = await KubeRouter.create(opts);
    try {
      await router.start();
    } catch (err) {
      await router.dispose();
      throw err;
    }
    return router;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  mark(): number {
    return this.events.length;
  }

  tail(): string {
    return this.stderrTail.join('\n');
  }

  /**
   * Starts the router and awaits `router ready`. The first start creates the site with a
   * picked link port; should another process take that port first, the site's objects are
   * deleted and it is created again on another.
   */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.started) return this.spawnRouter(timeoutMs);
    await withFreePort(async (port) => {
      this.linkPort = port;
      try {
        await this.spawnRouter(timeoutMs);
      } catch (err) {
        if (!this.running && saysPortInUse(this.tail(), port)) {
          ok(
            await this.ns.kubectl([
              'delete',
              'configmaps,secrets',
              '-l',
              'app.kubernetes.io/managed-by=skiff',
            ]),
          );
          throw new PortTaken(port, (err as Error).message);
        }
        throw err;
      }
    });
    this.started = true;
  }

  /** Runs the router until it exits by itself (a refusal at start): its result. */
  async runToExit(timeoutMs = 30_000): Promise<{ code: number | null; stderr: string }> {
    // Nothing is bound when the start is refused; a site made before keeps its own port.
    if (this.linkPort === 0) this.linkPort = await pickPort();
    this.spawn();
    const { code } = await withTimeout(this.closed!, timeoutMs, 'the router to exit');
    return { code, stderr: this.tail() };
  }

  private async spawnRouter(timeoutMs: number): Promise<void> {
    const since = this.mark();
    const t0 = performance.now();
    this.spawn();
    await this.waitForEvent((e) => e.msg === 'router ready', { since, timeoutMs });
    this.readyMs = performance.now() - t0;
  }

  private spawn(): void {
    if (this.child) throw new Error(`the router of ${this.ns.name} is already running`);
    const tuned = routerLaunch();
    const args = [
      ...tuned.nodeArgs,
      skiffBin,
      ...this.globalArgs,
      '--platform',
      'kubernetes',
      '--state-dir',
      this.runDir,
      'site',
      'run',
      '--link-host',
      '127.0.0.1',
      '--link-port',
      String(this.linkPort),
    ];
    const child = spawn(process.execPath, args, {
      env: childEnv({
        ...tuned.env,
        SKIFF_LOG_LEVEL: 'info',
        KUBECONFIG: this.ns.kubeconfig,
        ...this.env,
      }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    killWithTestProcess(child);
    this.child = child;
    child.stdin.end();
    child.stdout.resume();
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) this.onLine(line);
    });
    this.closed = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        if (partial) this.onLine(partial);
        if (this.child === child) this.child = undefined;
        const err = new Error(
          `the router of ${this.ns.name} exited (code ${code}, signal ${signal}); stderr tail:\n${this.tail()}`,
        );
        for (const waiter of this.waiters) waiter.reject(err);
        this.waiters.clear();
        resolve({ code, signal });
      });
    });
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    this.stderrTail.push(line);
    if (this.stderrTail.length > 60) this.stderrTail.shift();
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof event !== 'object' || event === null) return;
    if (typeof (event as RouterEvent).msg !== 'string') return;
    this.events.push(event as RouterEvent);
    for (const waiter of this.waiters) {
      if (waiter.predicate(event as RouterEvent)) {
        this.waiters.delete(waiter);
        waiter.resolve(event as RouterEvent);
      }
    }
  }

  eventsSince(since: number, predicate: EventPredicate = () => true): RouterEvent[] {
    return this.events.slice(since).filter(predicate);
  }

  waitForEvent(
    predicate: EventPredicate,
    { since = this.mark(), timeoutMs = 15_000 }: { since?: number; timeoutMs?: number } = {},
  ): Promise<RouterEvent> {
    const seen = this.events.slice(since).find(predicate);
    if (seen) return Promise.resolve(seen);
    if (!this.child) {
      return Promise.reject(new Error(`the router is not running; stderr tail:\n${this.tail()}`));
    }
    let waiter!: Waiter;
    const found = new Promise<RouterEvent>((resolve, reject) => {
      waiter = { predicate, resolve, reject };
      this.waiters.add(waiter);
    });
    const what = (predicate as { description?: string }).description ?? 'a matching event';
    return withTimeout(found, timeoutMs, `${what} from the router of ${this.ns.name}`).catch(
      (err: Error) => {
        this.waiters.delete(waiter);
        throw new Error(`${err.message}\nstderr tail:\n${this.tail()}`, { cause: err });
      },
    );
  }

  /** SIGTERM and await the exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    const closed = this.closed;
    if (!child || !closed) throw new Error('the router is not running');
    child.kill('SIGTERM');
    try {
      return await withTimeout(closed, timeoutMs, 'the router to exit after SIGTERM');
    } catch (err) {
      child.kill('SIGKILL');
      await closed;
      throw err;
    }
  }

  async dispose(): Promise<void> {
    const child = this.child;
    if (child && this.closed) {
      child.kill('SIGKILL');
      await this.closed;
    }
    await rm(this.runDir, { recursive: true, force: true });
  }

  /** `skiff --state-dir RUNDIR ...args`: the admin API over the router's socket. */
  cli(args: readonly string[]): Promise<CliResult> {
    return runCli(this.runDir, args);
  }

  json<T>(args: readonly string[]): Promise<T> {
    return cliJson<T>(this.runDir, args);
  }

  status(): Promise<SiteStatus> {
    return this.json<SiteStatus>(['status']);
  }
}
