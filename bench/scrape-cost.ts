/**
 * `node dist/bench/scrape-cost.js [scrapes] [idleSeconds]`: what serving /metrics costs the
 * routers outside the data path, in CPU seconds (which a loaded host inflates far less than
 * throughput): two router pairs, one serving metrics and one not, each having carried some
 * traffic so every series exists; then both idle side by side for `idleSeconds` (prom-client's
 * process collectors run between scrapes), then `scrapes` scrapes of each metrics router in a
 * row, one at a time. Prints the idle CPU of each pair, the router CPU per scrape, and the
 * count of nodejs_gc_duration_seconds per GiB carried: prom-client's GC observer is the one
 * collector whose work grows with traffic; it observes the first collection of each batch
 * Node hands it, so the count is a floor of the collections.
 */
import { fetchMetrics } from '../test/helpers/router-metrics.js';
import { iperfClient, startIperfServer } from './iperf.js';
import { totalCpuSeconds } from './proc.js';
import { type RouterPair, startRouterPair } from './router-pair.js';

const scrapes = Number(process.argv[2] ?? 300);
const idleSeconds = Number(process.argv[3] ?? 20);
const say = (line: string) => process.stdout.write(`${line}\n`);

const iperf = await startIperfServer();
const pairs: RouterPair[] = [];
try {
  const withMetrics = await startRouterPair({ metrics: true });
  pairs.push(withMetrics);
  const without = await startRouterPair();
  pairs.push(without);
  const carriedSeconds = 5;
  let gbits = 0;
  for (const pair of pairs) {
    const port = await pair.expose('iperf', iperf.port);
    const run = await iperfClient(port, 1, carriedSeconds);
    if (pair === withMetrics) gbits = run;
  }
  let gcs = 0;
  for (const port of withMetrics.metricsPorts) {
    const text = await fetchMetrics(port);
    for (const m of text.matchAll(/^nodejs_gc_duration_seconds_count\{[^}]*\} (\d+)$/gm)) {
      gcs += Number(m[1]);
    }
  }
  const gib = (gbits * 1e9 * carriedSeconds) / 8 / 2 ** 30;
  say(
    `nodejs_gc_duration_seconds_count ${gcs} in both routers, ${(gcs / gib).toFixed(0)} per GiB carried`,
  );

  const cpu = () => pairs.map((p) => totalCpuSeconds(p.pids()));
  const before = cpu();
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  const after = cpu();
  const idle = after.map((c, i) => ((c - before[i]!) / idleSeconds) * 1000);
  say(
    `idle router CPU, ms per second (both routers): metrics on ${idle[0]!.toFixed(2)}, off ${idle[1]!.toFixed(2)}`,
  );

  const start = performance.now();
  const cpuBefore = totalCpuSeconds(withMetrics.pids());
  let bytes = 0;
  for (let i = 0; i < scrapes; i++) {
    for (const port of withMetrics.metricsPorts) bytes = (await fetchMetrics(port)).length;
  }
  const elapsed = (performance.now() - start) / 1000;
  const spent = totalCpuSeconds(withMetrics.pids()) - cpuBefore - (idle[0]! / 1000) * elapsed;
  const perScrape = (spent / (scrapes * withMetrics.metricsPorts.length)) * 1000;
  say(
    `${scrapes} scrapes of each of ${withMetrics.metricsPorts.length} routers in ${elapsed.toFixed(1)} s: ` +
      `${perScrape.toFixed(2)} ms router CPU per scrape (idle CPU taken off), ${bytes} bytes per answer`,
  );
} finally {
  iperf.stop();
  for (const pair of pairs) await pair.dispose();
}
