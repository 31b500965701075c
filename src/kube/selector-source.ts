import type { PodTarget } from '../config/targets.js';
import type { Logger } from '../log.js';
import type { KubeConnection } from './connect.js';
import { PodSource } from './pod-source.js';
import type { Endpoint } from './stream-balance.js';
import type { Readiness, TargetSource } from './target-source.js';

/** `--selector`: the pods it picks, no workload in between. */
export class SelectorPods implements TargetSource {
  private readonly pods: PodSource;

  constructor(kube: KubeConnection, selector: string, logger: Logger) {
    this.pods = new PodSource(kube, selector, `selector ${selector}`, logger);
  }

  start(): void {
    this.pods.start();
  }

  whenSynced(): Promise<void> {
    return this.pods.whenSynced();
  }

  endpoints(target: PodTarget): Endpoint[] {
    return this.pods.endpoints(target.targetPort);
  }

  readiness(): Readiness | { error: string } {
    try {
      return this.pods.readiness();
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  stop(): void {
    this.pods.stop();
  }
}
