/**
 * `node dist/bench/ab.js <baseDist> <newDist> [streams] [seconds] [rounds]`: a same-run A/B
 * of two builds (e.g. HEAD in a git worktree and the working tree) or, with FLAGS_BASE and
 * FLAGS_NEW set, of two sets of router node flags, or with ENV_BASE and ENV_NEW
 * ("NAME=value ..."), of two router environments. Both router pairs are up at once and
 * iperf3 runs interleave base/new/new/base..., so host noise hits both alike. Prints
 * Gbit/s and router CPU seconds per GiB per round (RTT=1 adds a sockperf ping-pong).
 * `streams` may be a list ("1,8,64"): each round runs every count, and RSS is read after all.
 * Last, per stream count: each side's medians, and new/base as the ratio of the medians and
 * as the median of each round's ratio (a round's two runs are back to back, so a load that
 * comes and goes moves both: the paired ratio is the steadier figure on a shared host).
 * The host's load average is printed at the start and the end: figures taken at a load
 * above the core count swing by tens of percent.
 * METRICS_BASE=1 or METRICS_NEW=1 serves /metrics on that side's routers and scrapes both
 * every second for the whole run, as a Prometheus would (the scrapes' router CPU counts).
 */
import { loadavg } from 'node:os';
import { assignments } from '../test/helpers/router.js';
import { measuredIperf, startIperfServer } from './iperf.js';
import { rssMiB } from './proc.js';
import type { RouterPair } from './router-pair.js';
import { sockperfPingPong, startSockperfServer } from './rtt.js';
import { type Scraper, startScraper } from './scraper.js';
import { median } from './table.js';

const [baseDir, newDir] = [process.argv[2], process.argv[3]];
if (!baseDir || !newDir)
  throw new Error('usage: ab.js <baseDist> <newDist> [streams] [seconds] [rounds]');
const streamCounts = (process.argv[4] ?? '1').split(',').map(Number);
const seconds = Number(process.argv[5] ?? 3);
const rounds = Number(process.argv[6] ?? 3);

interface Side {
  name: string;
  pair: RouterPair;
  iperfPort: number;
  rttPort: number;
  /** Result lines per stream count. */
  results: Map<number, string[]>;
  /** Gbit/s and CPU s/GiB per round, per stream count. */
  samples: Map<number, { gbits: number; cpuPerGiB: number }[]>;
  scraper?: Scraper;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
process.stdout.write(`load average at start: ${load()}\n`);
const iperf = await startIperfServer();
const sockperf = await startSockperfServer();
const sides: Side[] = [];
try {
  for (const [name, dir] of [
    ['base', baseDir],
    ['new', newDir],
  ] as const) {
    const flags = name === 'base' ? process.env.FLAGS_BASE : process.env.FLAGS_NEW;
    if (flags !== undefined) process.env.SKIFF_ROUTER_NODE_ARGS = flags;
    const vars = (name === 'base' ? process.env.ENV_BASE : process.env.ENV_NEW) ?? '';
    const env = assignments(vars.split(' ').filter(Boolean));
    const metrics = (name === 'base' ? process.env.METRICS_BASE : process.env.METRICS_NEW) === '1';
    const mod = (await import(`${dir}/bench/router-pair.js`)) as typeof import('./router-pair.js');
    const pair = await mod.startRouterPair({ env, metrics });
    if (metrics && pair.metricsPorts.length !== 2) {
      throw new Error(`the ${name} build's routers serve no metrics (${dir})`);
    }
    sides.push({
      name,
      pair,
      iperfPort: await pair.expose('iperf', iperf.port),
      rttPort: await pair.expose('rtt', sockperf.port),
      results: new Map(streamCounts.map((n) => [n, []])),
      samples: new Map(streamCounts.map((n) => [n, []])),
      ...(metrics ? { scraper: startScraper(pair.metricsPorts, 1000) } : {}),
    });
  }
  for (let round = 0; round < rounds; round++) {
    for (const streams of streamCounts) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const run = await measuredIperf(side.iperfPort, streams, seconds, side.pair.pids());
        const cpuPerGiB = run.cpuSeconds / run.gib;
        side.samples.get(streams)!.push({ gbits: run.gbits, cpuPerGiB });
        let line = `${run.gbits.toFixed(2)} Gbit/s ${cpuPerGiB.toFixed(2)} s/GiB`;
        if (process.env.RTT) {
          const rtt = await sockperfPingPong(side.rttPort, 2);
          line += ` rtt ${rtt.p50.toFixed(0)}/${rtt.p99.toFixed(0)} us`;
        }
        side.results.get(streams)!.push(line);
      }
    }
  }
  for (const side of sides) {
    for (const [streams, lines] of side.results) {
      process.stdout.write(`${side.name} -P ${streams}: ${lines.join(' | ')}\n`);
    }
    const rss = side.pair.pids().map((pid) => rssMiB(pid).toFixed(0));
    process.stdout.write(`${side.name}: RSS after all runs ${rss.join(' + ')} MiB\n`);
    if (side.scraper) process.stdout.write(`${side.name}: ${side.scraper.summary()}\n`);
  }
  for (const streams of streamCounts) process.stdout.write(`${summary(streams)}\n`);
  process.stdout.write(`load average at the end: ${load()}\n`);
} finally {
  iperf.stop();
  sockperf.stop();
  for (const side of sides) {
    side.scraper?.stop();
    await side.pair.dispose();
  }
}

/** Medians of both sides at one stream count, and new/base (see the top comment). */
function summary(streams: number): string {
  const [base, next] = sides.map((side) => side.samples.get(streams)!) as [
    { gbits: number; cpuPerGiB: number }[],
    { gbits: number; cpuPerGiB: number }[],
  ];
  const of = (xs: typeof base, key: 'gbits' | 'cpuPerGiB') => median(xs.map((x) => x[key]));
  const paired = (key: 'gbits' | 'cpuPerGiB') =>
    median(next.map((x, i) => x[key] / base[i]![key])).toFixed(3);
  const ratio = (key: 'gbits' | 'cpuPerGiB') => (of(next, key) / of(base, key)).toFixed(3);
  return (
    `-P ${streams} medians: base ${of(base, 'gbits').toFixed(2)} Gbit/s ${of(base, 'cpuPerGiB').toFixed(2)} s/GiB,` +
    ` new ${of(next, 'gbits').toFixed(2)} Gbit/s ${of(next, 'cpuPerGiB').toFixed(2)} s/GiB;` +
    ` new/base throughput ${ratio('gbits')} (paired ${paired('gbits')}),` +
    ` CPU/GiB ${ratio('cpuPerGiB')} (paired ${paired('cpuPerGiB')})`
  );
}
