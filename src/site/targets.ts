import type { Socket } from 'node:net';
import { targetOf, targetText } from '../config/targets.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { dialTarget } from '../tcp/dial.js';
import type { ConnectorRecord } from './records.js';

/**
 * Where a connector's streams go: the platform's seam between a connector record and a
 * connected socket (decision 0008). The local platform dials the record's host:port; the
 * kubernetes platform (kube/targets.ts) also resolves workloads and selectors to ready
 * pods (decision 0022).
 */
export interface TargetResolver {
  /**
   * A connected, paused socket to the connector's target, for one stream; rejects with an
   * error whose message names the target (a target with nothing ready to take the stream
   * rejects as a refused one does).
   */
  dial(connector: ConnectorRecord, timeoutMs: number): Promise<Socket>;
  /**
   * The site's connectors now, after every change to them: a resolver that follows its
   * targets (kubernetes: watches) starts on the ones named here and stops the rest.
   */
  setConnectors?(connectors: readonly ConnectorRecord[]): void;
  /** Stops whatever it follows. */
  stop?(): void;
}

/** The local platform's targets: the record's host and port. */
export const hostPortTargets: TargetResolver = {
  async dial(connector, timeoutMs) {
    const target = targetOf(connector);
    if (target.kind !== 'host') {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `target ${targetText(target)} is a Kubernetes workload: only a site on the kubernetes platform reaches its pods`,
      );
    }
    try {
      return await dialTarget(target.host, target.port, timeoutMs);
    } catch (err) {
      throw new Error(`target ${targetText(target)}: ${describe(err)}`, { cause: err });
    }
  },
};
