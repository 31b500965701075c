import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killWithTestProcess } from './children.js';
import { PortTaken, withFreePort } from './ports.js';
import { httpGet } from './tcp.js';
import { withTimeout } from './wait.js';

/**
 * A real Prometheus server (Debian's `prometheus` package, which .ci/run installs) scraping
 * given targets, on a picked port of 127.0.0.1 with its storage in a temp dir.
 */

/** Why Prometheus cannot run here, or undefined when it can. */
export function prometheusUnavailable(): string | undefined {
  const probe = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return undefined;
  return 'prometheus is not installed (apt-get install prometheus; .ci/run does)';
}

/** One series of an instant query's vector. */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus {
  readonly port: number;
  /** An instant query (HTTP API /api/v1/query); the vector it returns. */
  query(promql: string): Promise<VectorSample[]>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** host:port of each /metrics endpoint. */
  targets: string[];
  scrapeIntervalSeconds?: number;
}

/** Starts Prometheus and resolves once it serves queries. */
export async function startPrometheus({
  targets,
  scrapeIntervalSeconds = 1,
}: PrometheusOptions): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      `  scrape_interval: ${scrapeIntervalSeconds}s`,
      `  scrape_timeout: ${scrapeIntervalSeconds}s`,
      'scrape_configs:',
      '  - job_name: skiff',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  try {
    return await withFreePort((port) => run(config, join(dir, 'data'), port, dir));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function run(config: string, data: string, port: number, dir: string): Promise<Prometheus> {
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  killWithTestProcess(child);
  const tail: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 30) tail.shift();
        if (line.includes('Server is ready to receive web requests')) resolve();
      }
    });
    void exited.then((code) => {
      const text = tail.join('\n');
      if (text.includes('address already in use')) reject(new PortTaken(port, text));
      else reject(new Error(`prometheus exited (code ${code}) before it was ready:\n${text}`));
    });
  });
  try {
    await withTimeout(ready, 30_000, `prometheus on port ${port} to be ready`);
  } catch (err) {
    await stopChild(child, exited);
    throw err;
  }
  return {
    port,
    query: (promql) => query(port, promql),
    stop: async () => {
      await stopChild(child, exited);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function stopChild(
  child: ChildProcessWithoutNullStreams | ReturnType<typeof spawn>,
  exited: Promise<unknown>,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  try {
    await withTimeout(exited, 10_000, 'prometheus to exit after SIGTERM');
  } catch {
    child.kill('SIGKILL');
    await exited;
  }
}

async function query(port: number, promql: string): Promise<VectorSample[]> {
  const res = await httpGet(port, `/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = JSON.parse(res.body) as {
    status: string;
    error?: string;
    data?: {
      resultType: string;
      result: Array<{ metric: Record<string, string>; value: [number, string] }>;
    };
  };
  if (body.status !== 'success' || body.data?.resultType !== 'vector') {
    throw new Error(`query ${promql}: ${res.status} ${body.error ?? JSON.stringify(body)}`);
  }
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
