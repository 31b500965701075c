import { describe } from '../errors.js';
import type { Logger } from '../log.js';
import {
  type HttpEndpoint,
  knownPath,
  PLAIN_TEXT,
  reply,
  startHttpEndpoint,
} from '../tcp/http-endpoint.js';
import type { RouterMetrics } from './registry.js';

/**
 * The router's metrics endpoint (`site run --metrics-port`): GET or HEAD `/metrics` answers
 * the Prometheus text format; anything else 404, another method 405. A server of its own,
 * not the health port's: what it shows (site, link and address names, traffic) is more than
 * a prober may see, so it may bind elsewhere (docs/decisions/0021-metrics.md).
 */
export type MetricsServer = HttpEndpoint;

/** A scrape is one request every few seconds; a slow client is not kept. */
const REQUEST_TIMEOUT_MS = 10_000;
/** A Prometheus or two, and a person with curl: far more than that is not a scraper. */
const MAX_CONNECTIONS = 32;

export async function startMetricsServer(opts: {
  host: string;
  port: number;
  metrics: RouterMetrics;
  logger: Logger;
}): Promise<MetricsServer> {
  const { metrics, logger } = opts;
  return startHttpEndpoint({
    ...opts,
    what: 'metrics',
    portTakenHint: 'pick another with --metrics-port, or stop what holds it',
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxConnections: MAX_CONNECTIONS,
    handle: (req, res) => {
      if (knownPath(req, res, ['/metrics'] as const) === undefined) return;
      metrics.scrape().then(
        (text) => reply(res, 200, metrics.contentType, text),
        (err: unknown) => {
          logger.error({ err: describe(err) }, 'metrics scrape failed');
          if (!res.headersSent) reply(res, 500, PLAIN_TEXT, 'scrape failed\n');
          else res.destroy();
        },
      );
    },
  });
}
