import { request } from 'node:http';

/** Scrapes /metrics of some routers at a fixed interval, as a Prometheus would. */
export interface Scraper {
  stop(): void;
  /** Scrapes done and failed, and the size of the last answer. */
  summary(): string;
}

export function startScraper(ports: readonly number[], intervalMs: number): Scraper {
  let ok = 0;
  let failed = 0;
  let lastBytes = 0;
  const scrape = (port: number) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: intervalMs },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.once('end', () => {
          if (res.statusCode === 200) ok++;
          else failed++;
          lastBytes = bytes;
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error('scrape timed out')));
    req.once('error', () => failed++);
    req.end();
  };
  const timer = setInterval(() => {
    for (const port of ports) scrape(port);
  }, intervalMs);
  return {
    stop: () => clearInterval(timer),
    summary: () => `${ok} scrapes, ${failed} failed, last ${lastBytes} bytes`,
  };
}
