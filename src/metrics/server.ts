import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { describe } from '../errors.js';
import type { Logger } from '../log.js';
import { listenOn } from '../tcp/listen.js';
import type { RouterMetrics } from './registry.js';

/**
 * The router's metrics endpoint (`site run --metrics-port`): GET or HEAD `/metrics` answers
 * the Prometheus text format; anything else 404, another method 405. A server of its own,
 * not the health port's: what it shows (site, link and address names, traffic) is more than
 * a prober may see, so it may bind elsewhere (docs/decisions/0021-metrics.md).
 */
export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A scrape is one request every few seconds; a slow client is not kept. */
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_HEADER_BYTES = 8 * 1024;
/** A Prometheus or two, and a person with curl: far more than that is not a scraper. */
const MAX_CONNECTIONS = 32;

export async function startMetricsServer(opts: {
  host: string;
  port: number;
  metrics: RouterMetrics;
  logger: Logger;
}): Promise<MetricsServer> {
  const { metrics, logger } = opts;
  const server = createServer(
    { maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS },
    (req, res) => {
      answer(req, res, metrics).catch((err: unknown) => {
        logger.error({ err: describe(err) }, 'metrics scrape failed');
        if (!res.headersSent) reply(res, 500, 'text/plain; charset=utf-8', 'scrape failed\n');
        else res.destroy();
      });
    },
  );
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = REQUEST_TIMEOUT_MS;
  server.maxConnections = MAX_CONNECTIONS;
  await listenOn(
    server,
    opts.host,
    opts.port,
    'pick another with --metrics-port, or stop what holds it',
  );
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  logger.info({ host: opts.host, port }, 'metrics endpoint listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, metrics: RouterMetrics) {
  const path = (req.url ?? '').split('?', 1)[0];
  const text = 'text/plain; charset=utf-8';
  if (path !== '/metrics') {
    reply(res, 404, text, 'not found: this port serves /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    reply(res, 405, text, 'use GET or HEAD\n');
    return;
  }
  reply(res, 200, metrics.contentType, await metrics.scrape());
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
