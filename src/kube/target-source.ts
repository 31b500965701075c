import type { PodTarget } from '../config/targets.js';
import type { Endpoint } from './stream-balance.js';

/** How many of a target's pods (or endpoints) are ready, for messages and status. */
export interface Readiness {
  ready: number;
  total: number;
}

/**
 * The ready endpoints of one workload, selector or Service, followed with watches
 * (kube/targets.ts keeps one per target that a connector names).
 */
export interface TargetSource {
  start(): void;
  /** Resolves once everything it watches has been listed. */
  whenSynced(): Promise<void>;
  /**
   * Where a stream to `target` may go now, never empty: throws a SkiffError that says why
   * nothing may (no ready pod, no such workload, its API calls failing).
   */
  endpoints(target: PodTarget): Endpoint[];
  /** Ready and all pods or endpoints, or why that is not known. */
  readiness(): Readiness | { error: string };
  stop(): void;
}
