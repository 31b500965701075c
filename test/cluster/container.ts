import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import type { V1ContainerState, V1ContainerStatus, V1Probe } from '@kubernetes/client-node';
import { killWithTestProcess } from '../helpers/children.js';
import { type ProbeAnswer, ProbeLoop, type ProbeRequest } from './probe.js';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** A probe of one container: what it is and how to run it once. */
export interface ContainerProbe {
  spec: V1Probe;
  request: ProbeRequest;
}

/** Everything one container's runner needs, resolved from the pod spec beforehand. */
export interface ContainerConfig {
  name: string;
  image: string;
  /** The words to spawn (launch.ts). */
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Its stdout and stderr, appended across restarts (the pod's log). */
  logFile: string;
  restartPolicy: RestartPolicy;
  /** The pod's terminationGracePeriodSeconds, in ms: how long a liveness kill waits before SIGKILL. */
  terminationGraceMs: number;
  readiness?: ContainerProbe;
  liveness?: ContainerProbe;
  runProbe: (request: ProbeRequest) => Promise<ProbeAnswer>;
  /** Called after any change a status patch should show. */
  onChange: () => void;
}

/** Restart delays: a kubelet's run from 10 s to 5 min; tests cannot wait that long. */
const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 5_000;
/** A run this long resets the delay, as a kubelet forgets a crash loop after 10 min. */
const BACKOFF_RESET_MS = 10_000;

function now(): Date {
  return new Date();
}

/**
 * One container's process, as a kubelet keeps it: started, restarted when it exits (per
 * the pod's restartPolicy, with a growing delay, counting restarts), probed (readiness
 * decides `ready`; a failed liveness probe kills it, and it restarts), and stopped with
 * SIGTERM, then SIGKILL after the grace period.
 */
export class ContainerRunner {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private state: V1ContainerState = { waiting: { reason: 'ContainerCreating' } };
  private lastState: V1ContainerState | undefined;
  private restartCount = 0;
  private ready = false;
  private startedAt = 0;
  private backoffMs = BACKOFF_FIRST_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private probes: ProbeLoop[] = [];

  constructor(private readonly config: ContainerConfig) {}

  get name(): string {
    return this.config.name;
  }

  /** The process's pid while it runs (the container's own process: every wrapper execs). */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null
      ? this.child.pid
      : undefined;
  }

  get env(): Readonly<Record<string, string>> {
    return this.config.env;
  }

  start(): void {
    if (this.stopping) return;
    const [command, ...args] = this.config.argv;
    const log = openSync(this.config.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command!, args, { env: { ...this.config.env }, stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    killWithTestProcess(child);
    this.child = child;
    this.startedAt = Date.now();
    this.state = { running: { startedAt: now() } };
    this.ready = this.config.readiness === undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.onExit(code, signal);
        resolve();
      });
    });
    this.startProbes();
    this.config.onChange();
  }

  /** Kills the process outright, as a crash would; it restarts per the restartPolicy. */
  crash(): void {
    this.child?.kill('SIGKILL');
  }

  /** Sends `signal` to the process (a test's way to poke it). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; no restart after. Resolves once it has exited. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.stopProbes();
    await this.kill(graceMs);
  }

  status(): V1ContainerStatus {
    return {
      name: this.config.name,
      image: this.config.image,
      imageID: '',
      ready: this.ready,
      started: this.state.running !== undefined,
      restartCount: this.restartCount,
      state: this.state,
      ...(this.lastState ? { lastState: this.lastState } : {}),
    };
  }

  /** Shows a container that cannot start, and why (a PodConfigError's reason and message). */
  static waiting(name: string, image: string, reason: string, message: string): V1ContainerStatus {
    return {
      name,
      image,
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: { waiting: { reason, message } },
    };
  }

  private async kill(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.stopProbes();
    const exitCode = code ?? 128 + signalNumber(signal);
    const terminated = {
      exitCode,
      ...(signal ? { signal: signalNumber(signal) } : {}),
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: this.state.running?.startedAt ?? now(),
      finishedAt: now(),
    };
    this.ready = false;
    this.state = { terminated };
    const restart =
      !this.stopping &&
      (this.config.restartPolicy === 'Always' ||
        (this.config.restartPolicy === 'OnFailure' && exitCode !== 0));
    if (restart) {
      if (Date.now() - this.startedAt >= BACKOFF_RESET_MS) this.backoffMs = BACKOFF_FIRST_MS;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
      this.lastState = { terminated };
      this.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${delay} ms restarting failed container`,
        },
      };
      this.restartTimer = setTimeout(() => {
        this.restartCount++;
        this.start();
      }, delay);
    }
    this.config.onChange();
  }

  private startProbes(): void {
    const { readiness, liveness, runProbe } = this.config;
    if (readiness) {
      this.probes.push(
        new ProbeLoop(
          readiness.spec,
          () => runProbe(readiness.request),
          (ok) => this.setReady(ok),
          false,
        ),
      );
    }
    if (liveness) {
      const onFlip = (ok: boolean): void => {
        const grace = liveness.spec.terminationGracePeriodSeconds;
        if (!ok)
          void this.kill(grace === undefined ? this.config.terminationGraceMs : grace * 1000);
      };
      this.probes.push(
        new ProbeLoop(liveness.spec, () => runProbe(liveness.request), onFlip, true),
      );
    }
    for (const probe of this.probes) probe.start();
  }

  private stopProbes(): void {
    for (const probe of this.probes) probe.stop();
    this.probes = [];
  }

  private setReady(ok: boolean): void {
    if (this.state.running === undefined || this.ready === ok) return;
    this.ready = ok;
    this.config.onChange();
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? constants.signals[signal] : 0;
}
