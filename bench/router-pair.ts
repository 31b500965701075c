import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exposeAndListen, linkSites, SITE_A, SITE_B } from '../test/helpers/pair.js';
import { RouterProcess } from '../test/helpers/router.js';
import { routerWithMetrics } from '../test/helpers/router-metrics.js';

/** Two real routers (`skiff site run`), B linked to A over mutual-TLS wss as in production. */
export interface RouterPair {
  /** The connector's router: dials the target. */
  a: RouterProcess;
  /** The listener's router: accepts the client. */
  b: RouterProcess;
  /** Makes `targetPort` reachable through the pair; returns the listener port at B. */
  expose(address: string, targetPort: number): Promise<number>;
  pids(): number[];
  /** The routers' metrics ports (with `metrics`), else empty. */
  metricsPorts: number[];
  dispose(): Promise<void>;
}

export interface RouterPairOptions {
  /** settings.json of both routers (defaults when empty). */
  settings?: Record<string, number>;
  /** Extra environment of the router processes, e.g. NODE_OPTIONS for --cpu-prof. */
  env?: NodeJS.ProcessEnv;
  /** Log level of the routers ("warn" keeps the bench quiet and cheap). */
  logLevel?: string;
  /** Serve /metrics on a picked port of each router (`site run --metrics-port`). */
  metrics?: boolean;
}

export async function startRouterPair(opts: RouterPairOptions = {}): Promise<RouterPair> {
  const env = { SKIFF_LOG_LEVEL: opts.logLevel ?? 'info', ...opts.env };
  const workDir = await mkdtemp(join(tmpdir(), 'skiff-bench-'));
  const routers: RouterProcess[] = [];
  const metricsPorts: number[] = [];
  const dispose = async () => {
    await Promise.all(routers.map((r) => r.dispose()));
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    for (const name of [SITE_A, SITE_B]) {
      const settings = opts.settings ?? {};
      if (opts.metrics) {
        const { router, port } = await routerWithMetrics(name, 'flag', { settings, env });
        routers.push(router);
        metricsPorts.push(port);
        continue;
      }
      const router = await RouterProcess.create({ name, settings, env });
      routers.push(router);
      await router.start();
    }
    const [a, b] = routers as [RouterProcess, RouterProcess];
    await linkSites(a, b, workDir);
    return {
      a,
      b,
      expose: (address, port) => exposeAndListen(a, b, address, port),
      pids: () => routers.map((r) => r.pid).filter((p): p is number => p !== undefined),
      metricsPorts,
      dispose,
    };
  } catch (err) {
    await dispose().catch(() => undefined);
    throw err;
  }
}
