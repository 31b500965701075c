import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LinkInfo, ListenerInfo, SiteStatus } from '../../src/admin/api.js';
import { NO_REEXEC_ENV, TUNED_ENV, TUNED_NODE_FLAGS } from '../../src/runtime/tuned-runtime.js';
import { CA_SECRET, SERVER_SECRET, SITE_KEY } from '../../src/site/records.js';
import { FileStore } from '../../src/state/file-store.js';
import { killWithTestProcess } from './children.js';
import {
  type CliOptions,
  type CliResult,
  childEnv,
  cliJson,
  cliOk,
  runCli,
  skiffBin,
} from './cli.js';
import { PortTaken, pickPort, saysPortInUse, withFreePort } from './ports.js';
import { withTimeout } from './wait.js';

/** One pino line from a router's stderr. Only `msg` and the fields the contract names are relied on. */
export interface RouterEvent {
  msg: string;
  [field: string]: unknown;
}

export type EventPredicate = (event: RouterEvent) => boolean;

/** A predicate matching `msg` and every given field exactly, e.g. match('link up', { link: 'a' }). */
export function match(msg: string, fields: Record<string, unknown> = {}): EventPredicate {
  const predicate: EventPredicate = (event) =>
    event.msg === msg && Object.entries(fields).every(([key, value]) => event[key] === value);
  return Object.assign(predicate, { description: `"${msg}" ${JSON.stringify(fields)}` });
}

function describePredicate(predicate: EventPredicate): string {
  return (predicate as { description?: string }).description ?? 'a matching event';
}

export interface RouterOptions {
  /** The site name given to `site create`. */
  name: string;
  /** Written to `<stateDir>/settings.json` before the router first starts. */
  settings?: Record<string, number>;
  /** Extra environment for `site run` (e.g. SKIFF_LOG_LEVEL). */
  env?: NodeJS.ProcessEnv;
  /** Extra arguments for `site create`, after the name and link host/port. */
  siteArgs?: readonly string[];
  /** Extra arguments for `site run` (e.g. --health-port). */
  runArgs?: readonly string[];
  /**
   * The link port tokens advertise, when it is not the one the router binds: a proxy's in
   * front of it. The router then binds a picked port (`--link-bind-port`, `bindPort`).
   */
  advertisedPort?: number;
  /**
   * How `site run` is started: 'tuned' (default) node with the tuned runtime's flags and
   * environment; 'shebang' bin/skiff.js as the executable; 'node' plain `node bin/skiff.js`.
   */
  launch?: 'tuned' | 'shebang' | 'node';
  /**
   * Words that run the router, in front of it: each must exec the next (no fork), so the
   * child's pid stays the router's; e.g. ['ip', 'netns', 'exec', NS] runs it in a network
   * namespace, ['prlimit', '--nofile=1024', '--'] with other file descriptor limits.
   */
  wrapper?: readonly string[];
  /** `site create --link-host` (default 127.0.0.1): what tokens advertise, and where the link server binds. */
  linkHost?: string;
}

interface Waiter {
  predicate: EventPredicate;
  resolve(event: RouterEvent): void;
  reject(err: Error): void;
}

/**
 * A real `skiff site run` process in its own temporary state dir. Its stderr is split into
 * JSON events that tests await. `events` keeps every event across restarts, so an index from
 * mark() taken before an action lets a wait see events that arrived before the wait began.
 */
export class RouterProcess {
  readonly events: RouterEvent[] = [];
  private lastStart = 0;
  private readonly receivedAt = new WeakMap<RouterEvent, number>();
  private readonly lineOf = new WeakMap<RouterEvent, string>();
  private readonly stderrTail: string[] = [];
  private readonly waiters = new Set<Waiter>();
  private child: ChildProcessWithoutNullStreams | undefined;
  private closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  /** Set once a start() saw `router ready`: from then on the link port is the site's for good. */
  private everReady = false;

  private constructor(
    readonly name: string,
    readonly stateDir: string,
    /** The port the link server binds, picked here. */
    private pickedBindPort: number,
    /** Set when tokens advertise another port than the bound one (a proxy's). */
    private readonly advertisedPort: number | undefined,
    private readonly env: NodeJS.ProcessEnv,
    private readonly siteArgs: readonly string[],
    private readonly runArgs: readonly string[],
    private readonly launch: NonNullable<RouterOptions['launch']>,
    private readonly wrapper: readonly string[],
    readonly linkHost: string,
  ) {}

  /**
   * Makes a temp state dir and runs `site create NAME --link-host H --link-port P
   * [--link-bind-port Q] [...siteArgs]` in it. P (`linkPort`) is what tokens advertise;
   * the router binds Q (`bindPort`), or P without `advertisedPort`. The bound port is a
   * picked one, so the first start() may find it taken and create the site again on another.
   */
  static async create({
    name,
    settings,
    env = {},
    siteArgs = [],
    runArgs = [],
    advertisedPort,
    launch = 'tuned',
    wrapper = [],
    linkHost = '127.0.0.1',
  }: RouterOptions): Promise<RouterProcess> {
    const stateDir = await mkdtemp(join(tmpdir(), `skiff-it-${name}-`));
    const router = new RouterProcess(
      name,
      stateDir,
      await pickPort(),
      advertisedPort,
      env,
      siteArgs,
      runArgs,
      launch,
      wrapper,
      linkHost,
    );
    try {
      await router.createSite();
      if (settings) await router.writeSettings(settings);
    } catch (err) {
      await router.dispose();
      throw err;
    }
    return router;
  }

  /** create() then start(): a running router whose `router ready` has been seen. */
  static async started(options: RouterOptions): Promise<RouterProcess> {
    const router = await RouterProcess.create(options);
    try {
      await router.start();
    } catch (err) {
      await router.dispose();
      throw err;
    }
    return router;
  }

  /** The link port tokens advertise. */
  get linkPort(): number {
    return this.advertisedPort ?? this.pickedBindPort;
  }

  /** The port the link server binds: linkPort, unless a proxy holds that. */
  get bindPort(): number {
    return this.pickedBindPort;
  }

  get linkUrl(): string {
    return `wss://${this.linkHost}:${this.linkPort}/v1/link`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** mark() at the latest start(): events before it were logged by an earlier process. */
  get startMark(): number {
    return this.lastStart;
  }

  /** The index the next event will get: pass it as `since` to include events from now on. */
  mark(): number {
    return this.events.length;
  }

  private async createSite(): Promise<void> {
    await cliOk(this.stateDir, [
      'site',
      'create',
      this.name,
      '--link-host',
      this.linkHost,
      '--link-port',
      String(this.linkPort),
      ...(this.advertisedPort === undefined ? [] : ['--link-bind-port', String(this.bindPort)]),
      ...this.siteArgs,
    ]);
  }

  /**
   * Undoes `site create` (the site record and its keys; settings and anything else in the
   * state dir stay) and creates the site again binding `port`. Only before the first
   * `router ready`: until then no token or link names the old port.
   */
  private async recreateSite(port: number): Promise<void> {
    const store = new FileStore(this.stateDir);
    await store.delete('site', SITE_KEY);
    await store.deleteSecret(CA_SECRET);
    await store.deleteSecret(SERVER_SECRET);
    this.pickedBindPort = port;
    await this.createSite();
  }

  /** Replaces `<stateDir>/settings.json`; read by the router at its next start. */
  async writeSettings(settings: Record<string, number>): Promise<void> {
    await writeFile(join(this.stateDir, 'settings.json'), `${JSON.stringify(settings)}\n`);
  }

  /**
   * Spawns `site run` (creating the site first if the state dir has none) and awaits
   * `router ready`. At the first start the picked link port may have been bound by another
   * process since the pick: the site is then created again on another port, and started.
   */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.everReady) return this.spawnRouter(timeoutMs);
    await withFreePort(
      async (port) => {
        if (port !== this.bindPort) await this.recreateSite(port);
        try {
          await this.spawnRouter(timeoutMs);
        } catch (err) {
          // Each try has a port of its own, so a refusal naming this one is this try's.
          if (!this.running && saysPortInUse(this.tail(), port)) {
            throw new PortTaken(port, (err as Error).message);
          }
          throw err;
        }
      },
      { first: this.bindPort },
    );
    this.everReady = true;
  }

  private async spawnRouter(timeoutMs: number): Promise<void> {
    if (this.child) throw new Error(`router ${this.name} is already running`);
    if (!existsSync(join(this.stateDir, 'site.json'))) await this.createSite();
    const since = this.mark();
    this.lastStart = since;
    const tuned = routerLaunch();
    const args = ['--state-dir', this.stateDir, 'site', 'run', ...this.runArgs];
    const command: string[] =
      this.launch === 'shebang'
        ? [skiffBin, ...args]
        : this.launch === 'node'
          ? [process.execPath, skiffBin, ...args]
          : [process.execPath, ...tuned.nodeArgs, skiffBin, ...args];
    const env = this.launch === 'tuned' ? tuned.env : {};
    const [file, ...rest] = [...this.wrapper, ...command];
    const child = spawn(file!, rest, {
      env: childEnv({ ...env, SKIFF_LOG_LEVEL: 'info', ...this.env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    killWithTestProcess(child);
    this.child = child;
    child.stdin.end();
    child.stdout.resume(); // nothing is expected on stdout; keep the pipe drained
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
          `router ${this.name} exited (code ${code}, signal ${signal}); stderr tail:\n${this.tail()}`,
        );
        for (const waiter of this.waiters) waiter.reject(err);
        this.waiters.clear();
        resolve({ code, signal });
      });
    });
    child.once('error', (err) => this.stderrTail.push(`spawn error: ${err.message}`));
    await this.waitForEvent(match('router ready', { site: this.name }), { since, timeoutMs });
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    this.stderrTail.push(line);
    if (this.stderrTail.length > 40) this.stderrTail.shift();
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return; // not a log line (a crash trace, a node warning): kept in the tail only
    }
    if (typeof event !== 'object' || event === null) return;
    if (typeof (event as RouterEvent).msg !== 'string') return;
    this.events.push(event as RouterEvent);
    this.receivedAt.set(event as RouterEvent, performance.now());
    this.lineOf.set(event as RouterEvent, line);
    for (const waiter of this.waiters) {
      if (waiter.predicate(event as RouterEvent)) {
        this.waiters.delete(waiter);
        waiter.resolve(event as RouterEvent);
      }
    }
  }

  /** When the test process read `event` (performance.now() clock), for timing what a router logs. */
  receivedTime(event: RouterEvent): number {
    const at = this.receivedAt.get(event);
    if (at === undefined) throw new Error(`not an event of router ${this.name}`);
    return at;
  }

  /** The stderr line `event` was parsed from: JSON.parse hides what it holds twice. */
  rawLine(event: RouterEvent): string {
    const line = this.lineOf.get(event);
    if (line === undefined) throw new Error(`not an event of router ${this.name}`);
    return line;
  }

  /** The last stderr lines, for failure messages. */
  tail(): string {
    return this.stderrTail.join('\n');
  }

  /** Events since `since` that satisfy `predicate` (no waiting). */
  eventsSince(since: number, predicate: EventPredicate = () => true): RouterEvent[] {
    return this.events.slice(since).filter(predicate);
  }

  /**
   * Resolves with the first event at index >= `since` (default: from now on) that satisfies
   * `predicate`. Rejects if the router exits or is not running, or after `timeoutMs`.
   */
  waitForEvent(
    predicate: EventPredicate,
    { since = this.mark(), timeoutMs = 15_000 }: { since?: number; timeoutMs?: number } = {},
  ): Promise<RouterEvent> {
    const seen = this.events.slice(since).find(predicate);
    if (seen) return Promise.resolve(seen);
    if (!this.child) {
      return Promise.reject(
        new Error(`router ${this.name} is not running; stderr tail:\n${this.tail()}`),
      );
    }
    let waiter!: Waiter;
    const found = new Promise<RouterEvent>((resolve, reject) => {
      waiter = { predicate, resolve, reject };
      this.waiters.add(waiter);
    });
    return withTimeout(
      found,
      timeoutMs,
      `${describePredicate(predicate)} from router ${this.name}`,
    ).catch((err: Error) => {
      this.waiters.delete(waiter);
      throw new Error(`${err.message}\nstderr tail of ${this.name}:\n${this.tail()}`, {
        cause: err,
      });
    });
  }

  /** SIGTERM, then awaits the exit (SIGKILL if it takes longer than `timeoutMs`). */
  async stop(timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    const closed = this.closed;
    if (!child || !closed) throw new Error(`router ${this.name} is not running`);
    child.kill('SIGTERM');
    try {
      return await withTimeout(closed, timeoutMs, `router ${this.name} to exit after SIGTERM`);
    } catch (err) {
      child.kill('SIGKILL');
      await closed;
      throw err;
    }
  }

  /** SIGKILL and await the exit: a crash, as far as the router can tell. No-op if not running. */
  async kill(): Promise<void> {
    const child = this.child;
    const closed = this.closed;
    if (!child || !closed) return;
    child.kill('SIGKILL');
    await closed;
  }

  /** stop() (asserting nothing about the exit) then start(). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Kills the router if it runs and removes its state dir. Safe to call twice. */
  async dispose(): Promise<void> {
    await this.kill();
    await rm(this.stateDir, { recursive: true, force: true, maxRetries: 3 });
  }

  cli(args: readonly string[], options?: CliOptions): Promise<CliResult> {
    return runCli(this.stateDir, args, options);
  }

  json<T>(args: readonly string[], options?: CliOptions): Promise<T> {
    return cliJson<T>(this.stateDir, args, options);
  }

  status(): Promise<SiteStatus> {
    return this.json<SiteStatus>(['status']);
  }

  links(): Promise<LinkInfo[]> {
    return this.json<LinkInfo[]>(['link', 'status']);
  }

  listeners(): Promise<ListenerInfo[]> {
    return this.json<ListenerInfo[]>(['listener', 'list']);
  }
}

/** `NAME=value` words (as env(1) takes them) as an environment. */
export function assignments(words: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    words.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/**
 * The tuned runtime a router gets however it is started (src/runtime/tuned-runtime.ts): its
 * environment and node flags. SKIFF_ROUTER_NODE_ARGS, when set, replaces the flags (V8
 * experiments in bench/), and the router is then told not to re-execute itself into them.
 */
export function routerLaunch(): { env: Record<string, string>; nodeArgs: string[] } {
  const override = process.env.SKIFF_ROUTER_NODE_ARGS;
  if (override === undefined) return { env: { ...TUNED_ENV }, nodeArgs: [...TUNED_NODE_FLAGS] };
  return {
    env: { ...TUNED_ENV, [NO_REEXEC_ENV]: '1' },
    nodeArgs: override.split(' ').filter(Boolean),
  };
}
