import type { Socket } from 'node:net';
import { type PodTarget, podSourceText, targetOf, targetText } from '../config/targets.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ConnectorRecord } from '../site/records.js';
import { hostPortTargets, type TargetResolver } from '../site/targets.js';
import { dialTarget } from '../tcp/dial.js';
import type { KubeConnection } from './connect.js';
import { SelectorPods } from './selector-source.js';
import { ServiceEndpoints } from './service-source.js';
import { StreamBalance } from './stream-balance.js';
import type { Readiness, TargetSource } from './target-source.js';
import { WorkloadPods } from './workload-source.js';

/** Targets followed at once: each is a watch or two on the API server. */
export const MAX_SOURCES = 256;
/** Ready pods tried for one stream before it is refused (a pod may be gone before its watch says so). */
const MAX_TRIES = 3;

/**
 * The kubernetes platform's targets (decision 0022): a host:port is dialled as on the
 * local platform; a workload or selector goes to one of its ready pods, the one with the
 * fewest open streams (stream-balance.ts). Each target's pods are watched from the first
 * stream or setConnectors() that names it until no connector does; connectors with the
 * same target share the watch, and streams to the same pod are counted together.
 */
export class KubeTargets implements TargetResolver {
  private readonly sources = new Map<string, TargetSource>();
  private readonly balance = new StreamBalance();

  constructor(
    private readonly kube: KubeConnection,
    private readonly logger: Logger,
  ) {}

  async dial(connector: ConnectorRecord, timeoutMs: number): Promise<Socket> {
    const target = targetOf(connector);
    if (target.kind === 'host') return hostPortTargets.dial(connector, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    const source = this.source(target);
    await synced(source, target, timeoutMs);
    const tried: string[] = [];
    for (const endpoint of this.balance.order(source.endpoints(target)).slice(0, MAX_TRIES)) {
      const release = this.balance.lease(endpoint);
      try {
        const socket = await dialTarget(
          endpoint.ip,
          endpoint.port,
          Math.max(1, deadline - Date.now()),
        );
        socket.once('close', release);
        return socket;
      } catch (err) {
        release();
        tried.push(`pod ${endpoint.name} (${endpoint.ip}:${endpoint.port}): ${describe(err)}`);
        if (Date.now() >= deadline) break;
      }
    }
    throw new SkiffError(
      ErrorCode.TARGET_UNAVAILABLE,
      `target ${targetText(target)}: ${tried.join('; ')}`,
    );
  }

  setConnectors(connectors: readonly ConnectorRecord[]): void {
    const wanted = new Map<string, PodTarget>();
    for (const connector of connectors) {
      const target = targetOf(connector);
      if (target.kind !== 'host') wanted.set(podSourceText(target), target);
    }
    for (const [key, source] of this.sources) {
      if (wanted.has(key)) continue;
      source.stop();
      this.sources.delete(key);
      this.logger.info({ target: key }, 'target no longer followed');
    }
    for (const target of wanted.values()) {
      if (this.sources.size >= MAX_SOURCES) break;
      this.source(target);
    }
  }

  /** How ready the target's pods are, if it is followed (for status). */
  readiness(connector: ConnectorRecord): Readiness | { error: string } | undefined {
    const target = targetOf(connector);
    return target.kind === 'host'
      ? undefined
      : this.sources.get(podSourceText(target))?.readiness();
  }

  /** Targets followed now, by their text (`deployment/api`, `selector app=api`). */
  get followed(): string[] {
    return [...this.sources.keys()];
  }

  /** Open streams counted per pod (for tests: every stream released leaves none). */
  get openEndpoints(): number {
    return this.balance.size;
  }

  stop(): void {
    for (const source of this.sources.values()) source.stop();
    this.sources.clear();
  }

  private source(target: PodTarget): TargetSource {
    const key = podSourceText(target);
    const known = this.sources.get(key);
    if (known !== undefined) return known;
    if (this.sources.size >= MAX_SOURCES) {
      throw new SkiffError(
        ErrorCode.LIMIT,
        `target ${key} is not followed: this site follows ${MAX_SOURCES} targets already`,
      );
    }
    const source = this.make(target);
    this.sources.set(key, source);
    source.start();
    this.logger.info({ target: key }, 'following target');
    return source;
  }

  private make(target: PodTarget): TargetSource {
    const logger = this.logger.child({ target: podSourceText(target) });
    switch (target.kind) {
      case 'deployment':
      case 'statefulset':
        return new WorkloadPods(this.kube, target.kind, target.name, logger);
      case 'service':
        return new ServiceEndpoints(this.kube, target.name, logger);
      case 'selector':
        return new SelectorPods(this.kube, target.selector.text, logger);
    }
  }
}

/**
 * Waits for a new source's first lists, at most `timeoutMs`; past that the stream fails
 * with why they have not come (the API's refusal or failure, as the source keeps it).
 */
async function synced(source: TargetSource, target: PodTarget, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  try {
    if ((await Promise.race([source.whenSynced(), late])) !== 'late') return;
  } finally {
    clearTimeout(timer);
  }
  source.endpoints(target);
}
