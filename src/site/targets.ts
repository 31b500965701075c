import type { Socket } from 'node:net';
import { describe } from '../errors.js';
import { dialTarget } from '../tcp/dial.js';
import type { ConnectorRecord } from './records.js';

/**
 * Where a connector's streams go: the platform's seam between a connector record and a
 * connected socket (decision 0008). The local platform dials the record's host:port; the
 * kubernetes platform also resolves `deployment/NAME` to a ready pod.
 */
export interface TargetResolver {
  /**
   * A connected, paused socket to the connector's target, for one stream; rejects with an
   * error whose message names the target.
   */
  dial(connector: ConnectorRecord, timeoutMs: number): Promise<Socket>;
}

/** The local platform's targets: the record's host and port. */
export const hostPortTargets: TargetResolver = {
  async dial(connector, timeoutMs) {
    try {
      return await dialTarget(connector.host, connector.port, timeoutMs);
    } catch (err) {
      throw new Error(`target ${connector.host}:${connector.port}: ${describe(err)}`, {
        cause: err,
      });
    }
  },
};
