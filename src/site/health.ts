import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { listenOn } from '../tcp/listen.js';

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
const MAX_HEADER_BYTES = 8 * 1024;
/** A kubelet holds one or two; anything far beyond that is not a prober. */
const MAX_CONNECTIONS = 64;

export async function startHealthServer(opts: {
  host: string;
  port: number;
  logger: Logger;
}): Promise<HealthServer> {
  let state: HealthState = 'starting';
  const server = createServer(
    { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS },
    (req, res) => answer(req, res, state),
  );
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = REQUEST_TIMEOUT_MS;
  server.maxConnections = MAX_CONNECTIONS;
  await listenOn(
    server,
    opts.host,
    opts.port,
    'pick another with --health-port, or stop what holds it',
  );
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  opts.logger.info({ host: opts.host, port }, 'health endpoint listening');
  return {
    port,
    setState(next) {
      state = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(req: IncomingMessage, res: ServerResponse, state: HealthState): void {
  const path = (req.url ?? '').split('?', 1)[0];
  if (path !== '/livez' && path !== '/readyz') {
    reply(res, 404, 'not found: this port serves /livez and /readyz');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    reply(res, 405, 'use GET or HEAD');
    return;
  }
  if (path === '/livez') reply(res, 200, 'ok');
  else reply(res, state === 'ready' ? 200 : 503, state === 'ready' ? 'ok' : state);
}

function reply(res: ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
