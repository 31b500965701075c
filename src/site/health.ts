import type { Logger } from '../log.js';
import { knownPath, PLAIN_TEXT, reply, startHttpEndpoint } from '../tcp/http-endpoint.js';

/**
 * The router's health endpoint for a kubelet's probes (`site run --health-port`):
 * - `/livez` 200 whenever it answers: an answer is the proof that the event loop runs;
 * - `/readyz` 200 once the router has loaded its state and bound its link port, 503 before
 *   that and while it drains (the kubelet then takes the pod out of the link Service's
 *   endpoints, which the drain's GOAWAY has already told linked peers);
 * - anything else 404, and a method other than GET or HEAD 405.
 * It serves nothing else: no state, no names, so binding it to every address in a pod
 * (the probes come from the kubelet, on the pod IP) shows nobody anything.
 */

/** Where the router is in its life, as /readyz reports it. */
export type HealthState = 'starting' | 'ready' | 'draining';

export interface HealthServer {
  readonly port: number;
  setState(state: HealthState): void;
  close(): Promise<void>;
}

/** Probes send a few hundred bytes and want an answer within their timeout (1 s by default). */
const REQUEST_TIMEOUT_MS = 5_000;
/** A kubelet holds one or two; anything far beyond that is not a prober. */
const MAX_CONNECTIONS = 64;

export async function startHealthServer(opts: {
  host: string;
  port: number;
  logger: Logger;
}): Promise<HealthServer> {
  let state: HealthState = 'starting';
  const endpoint = await startHttpEndpoint({
    ...opts,
    what: 'health',
    portTakenHint: 'pick another with --health-port, or stop what holds it',
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxConnections: MAX_CONNECTIONS,
    handle: (req, res) => {
      const path = knownPath(req, res, ['/livez', '/readyz'] as const);
      if (path === undefined) return;
      if (path === '/livez' || state === 'ready') reply(res, 200, PLAIN_TEXT, 'ok\n');
      else reply(res, 503, PLAIN_TEXT, `${state}\n`);
    },
  });
  return {
    port: endpoint.port,
    setState(next) {
      state = next;
    },
    close: () => endpoint.close(),
  };
}
