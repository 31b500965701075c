import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { listenOn } from './listen.js';

/**
 * The router's small HTTP endpoints (health probes, metrics): a few known paths, GET or
 * HEAD only, bounded requests and connections, and a close that does not wait for idle
 * keep-alive clients.
 */
export interface HttpEndpoint {
  readonly port: number;
  close(): Promise<void>;
}

export interface HttpEndpointOptions {
  host: string;
  port: number;
  /** Names it in the log line, e.g. `metrics`. */
  what: string;
  /** What to do when the port is taken, e.g. 'pick another with --metrics-port, ...'. */
  portTakenHint: string;
  requestTimeoutMs: number;
  maxConnections: number;
  logger: Logger;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** Where an endpoint listens, and what logs for it: what each endpoint's start takes. */
export type EndpointPlace = Pick<HttpEndpointOptions, 'host' | 'port' | 'logger'>;

const MAX_HEADER_BYTES = 8 * 1024;
export const PLAIN_TEXT = 'text/plain; charset=utf-8';

export async function startHttpEndpoint(opts: HttpEndpointOptions): Promise<HttpEndpoint> {
  const server = createServer(
    { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: opts.requestTimeoutMs },
    opts.handle,
  );
  server.headersTimeout = opts.requestTimeoutMs;
  server.keepAliveTimeout = opts.requestTimeoutMs;
  server.maxConnections = opts.maxConnections;
  await listenOn(server, opts.host, opts.port, opts.portTakenHint);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  opts.logger.info({ host: opts.host, port }, `${opts.what} endpoint listening`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The request's path when it is GET or HEAD of one of `paths`; otherwise answers 404 or
 * 405 itself and returns undefined.
 */
export function knownPath<P extends string>(
  req: IncomingMessage,
  res: ServerResponse,
  paths: readonly P[],
): P | undefined {
  const path = (req.url ?? '').split('?', 1)[0] as P;
  if (!paths.includes(path)) {
    reply(res, 404, PLAIN_TEXT, `not found: this port serves ${paths.join(' and ')}\n`);
    return undefined;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    reply(res, 405, PLAIN_TEXT, 'use GET or HEAD\n');
    return undefined;
  }
  return path;
}

/** Answers with `body` (none for HEAD), never cached. */
export function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
