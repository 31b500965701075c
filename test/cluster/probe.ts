import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';
import { killWithTestProcess } from '../helpers/children.js';
import { withTimeout } from '../helpers/wait.js';
import { PodConfigError } from './errors.js';

/** One probe as prober-main.js takes it. */
export interface ProbeRequest {
  kind: 'http' | 'tcp';
  host: string;
  port: number;
  path?: string;
  scheme?: 'HTTP' | 'HTTPS';
  headers?: Record<string, string>;
  timeoutMs: number;
}

export interface ProbeAnswer {
  ok: boolean;
  detail: string;
}

/**
 * The client of prober-main.js, one process in the cluster's network namespace that runs
 * every probe of every pod (this process cannot reach pod addresses itself).
 */
export class Prober {
  private nextId = 0;
  private readonly pending = new Map<number, (answer: ProbeAnswer) => void>();
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      for (const answer of this.pending.values()) answer({ ok: false, detail: 'prober exited' });
      this.pending.clear();
    });
  }

  /** Starts the prober with `wrapper` in front (['ip', 'netns', 'exec', NS]). */
  static async start(wrapper: readonly string[]): Promise<Prober> {
    const file = new URL('./prober-main.js', import.meta.url).pathname;
    const [command, ...args] = [...wrapper, process.execPath, file];
    const child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    killWithTestProcess(child);
    const prober = new Prober(child);
    const lines = createInterface({ input: child.stdout! });
    const ready = new Promise<void>((resolve, reject) => {
      lines.once('line', () => {
        lines.on('line', (line) => prober.answer(line));
        resolve();
      });
      void prober.exited.then(() => reject(new Error('the prober exited before it was ready')));
    });
    await withTimeout(ready, 10_000, 'the prober to start').catch(async (err: unknown) => {
      await prober.stop();
      throw err;
    });
    return prober;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  probe(request: ProbeRequest): Promise<ProbeAnswer> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.resolve({ ok: false, detail: 'prober exited' });
    }
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, ...request })}\n`);
    });
  }

  async stop(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  private answer(line: string): void {
    const { id, ok, detail } = JSON.parse(line) as { id: number } & ProbeAnswer;
    const resolve = this.pending.get(id);
    this.pending.delete(id);
    resolve?.({ ok, detail });
  }
}

/**
 * What to send for a container's probe, or a PodConfigError for what this kubelet does not
 * run (exec and gRPC probes). A named port is looked up in the container's ports.
 */
export function probeRequest(
  probe: V1Probe,
  podIP: string,
  ports: readonly V1ContainerPort[] = [],
): ProbeRequest {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const port = (value: number | string): number => {
    if (typeof value === 'number') return value;
    const named = ports.find((p) => p.name === value)?.containerPort;
    if (named !== undefined) return named;
    if (/^\d+$/.test(value)) return Number(value);
    throw new PodConfigError(
      'CreateContainerConfigError',
      `probe port "${value}" names no container port`,
    );
  };
  if (probe.httpGet) {
    const { httpGet } = probe;
    const headers = Object.fromEntries((httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return {
      kind: 'http',
      host: httpGet.host ?? podIP,
      port: port(httpGet.port as number | string),
      path: httpGet.path ?? '/',
      scheme: httpGet.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP',
      headers,
      timeoutMs,
    };
  }
  if (probe.tcpSocket) {
    const { tcpSocket } = probe;
    return {
      kind: 'tcp',
      host: tcpSocket.host ?? podIP,
      port: port(tcpSocket.port as number | string),
      timeoutMs,
    };
  }
  throw new PodConfigError(
    'CreateContainerConfigError',
    'the skiff test kubelet runs httpGet and tcpSocket probes only (not exec or grpc)',
  );
}

/**
 * A probe run every periodSeconds after initialDelaySeconds, flipping its result only after
 * successThreshold successes or failureThreshold failures in a row, as a kubelet's worker
 * does. Readiness starts failed, liveness succeeded.
 */
export class ProbeLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  /** The last answer, for messages. */
  last: ProbeAnswer | undefined;

  constructor(
    private readonly spec: V1Probe,
    private readonly run: () => Promise<ProbeAnswer>,
    private readonly onFlip: (ok: boolean) => void,
    private state: boolean,
  ) {}

  start(): void {
    this.schedule((this.spec.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const answer = await this.run();
    if (this.stopped) return;
    this.last = answer;
    if (answer.ok) {
      this.successes++;
      this.failures = 0;
    } else {
      this.failures++;
      this.successes = 0;
    }
    if (!this.state && this.successes >= (this.spec.successThreshold ?? 1)) this.flip(true);
    else if (this.state && this.failures >= (this.spec.failureThreshold ?? 3)) this.flip(false);
    this.schedule((this.spec.periodSeconds ?? 10) * 1000);
  }

  private flip(ok: boolean): void {
    this.state = ok;
    this.onFlip(ok);
  }
}
