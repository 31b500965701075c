/**
 * `npm run bench [-- --quick]`: the same workloads, in the same run, through three paths
 * on 127.0.0.1, interleaved run by run so host noise hits all of them alike:
 * - direct: the client talks to the target;
 * - stunnel: a stunnel4 mutual-TLS pair (the C baseline), if installed;
 * - node (full runs only): the Node floor, a TLS connection per client connection and
 *   pipe() (bench/node-relay.ts), with the routers' node flags: what Node itself costs;
 * - skiff: two real routers (`skiff site run`) with a TLS link exactly as in production.
 * Workloads: iperf3 throughput with 1/8/64 streams, sockperf 64-byte ping-pong RTT,
 * connections per second (connect + 1-byte echo + close, 50 at once), the tunnel's CPU
 * seconds per GiB, RSS after the throughput runs and with 10,000 idle streams (on a fresh
 * pair; the full run also on the pair after the runs). Prints a table with ratios to both
 * baselines and writes bench/results/latest.json. Full: medians of 3; --quick: one run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { connectionRate, startEchoServer } from './conn-rate.js';
import { idleStreamsRss } from './idle-streams.js';
import { iperfClient, measuredIperf, startIperfServer } from './iperf.js';
import { startNodeFloor } from './node-floor.js';
import { rssMiB } from './proc.js';
import { startRouterPair } from './router-pair.js';
import { sockperfPingPong, startSockperfServer } from './rtt.js';
import { startStunnelPair } from './stunnel.js';
import { formatTable, type PathSamples, rows } from './table.js';
import { ensureTools } from './tools.js';

const quick = process.argv.includes('--quick');
const runs = quick ? 1 : 3;
const seconds = quick ? 2 : 5;
const rttSeconds = quick ? 2 : 4;
const connSeconds = quick ? 1 : 2;
const STREAMS = [1, 8, 64];
const IDLE_STREAMS = 10_000;
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Path {
  name: string;
  /** The port a client uses to reach the given target port through this path. */
  portFor(target: number): number;
  /** The tunnel's processes, for CPU and RSS (none for direct). */
  pids(): number[];
}

async function main(): Promise<void> {
  const started = Date.now();
  const tools = ensureTools(say);
  if (!tools.has('iperf3')) throw new Error('iperf3 is required for the throughput workloads');
  const cleanup: (() => unknown)[] = [];
  try {
    const iperf = await startIperfServer();
    cleanup.push(() => iperf.stop());
    const sockperf = tools.has('sockperf') ? await startSockperfServer() : undefined;
    if (sockperf) cleanup.push(() => sockperf.stop());
    const echo = await startEchoServer();
    cleanup.push(() => echo.server.close());
    const targets = [iperf.port, echo.port, ...(sockperf ? [sockperf.port] : [])];

    const paths: Path[] = [{ name: 'direct', portFor: (t) => t, pids: () => [] }];
    if (tools.has('stunnel4')) {
      const stunnel = await startStunnelPair(targets);
      cleanup.push(() => stunnel.stop());
      paths.push({ name: 'stunnel', portFor: stunnel.portFor, pids: stunnel.pids });
    }
    if (!quick) {
      const floor = await startNodeFloor(targets);
      cleanup.push(() => floor.stop());
      paths.push({ name: 'node', portFor: floor.portFor, pids: floor.pids });
    }
    const pair = await startRouterPair();
    cleanup.push(() => pair.dispose());
    const skiffPorts = new Map<number, number>();
    for (const target of targets) skiffPorts.set(target, await pair.expose(`t${target}`, target));
    paths.push({ name: 'skiff', portFor: (t) => skiffPorts.get(t)!, pids: pair.pids });
    // Warm-up of every tunnel, not measured: a Node process's first second of traffic runs
    // before V8 has optimised the hot path and while glibc's heap grows (page faults).
    for (const p of paths.slice(1)) await iperfClient(p.portFor(iperf.port), 8, 1);

    const samples: Record<string, PathSamples> = {};
    const cpu: Record<string, { seconds: number; gib: number }> = {};
    for (const p of paths) {
      samples[p.name] = {
        throughputGbps: Object.fromEntries(STREAMS.map((n) => [n, [] as number[]])),
        rttP50: [],
        rttP99: [],
        rttP999: [],
        connPerSecond: [],
      };
      cpu[p.name] = { seconds: 0, gib: 0 };
    }

    for (let run = 0; run < runs; run++) {
      say(`run ${run + 1} of ${runs}...`);
      for (const n of STREAMS) {
        for (const p of paths) {
          const run = await measuredIperf(p.portFor(iperf.port), n, seconds, p.pids()).catch(
            (err) => {
              throw new Error(`${p.name}: ${(err as Error).message}`);
            },
          );
          cpu[p.name]!.seconds += run.cpuSeconds;
          cpu[p.name]!.gib += run.gib;
          samples[p.name]!.throughputGbps[n]!.push(run.gbits);
        }
      }
      if (sockperf) {
        for (const p of paths) {
          const rtt = await sockperfPingPong(p.portFor(sockperf.port), rttSeconds);
          samples[p.name]!.rttP50.push(rtt.p50);
          samples[p.name]!.rttP99.push(rtt.p99);
          samples[p.name]!.rttP999.push(rtt.p999);
        }
      }
      for (const p of paths) {
        const rate = await connectionRate(p.portFor(echo.port), connSeconds);
        if (rate.failed > 0) say(`  ${p.name}: ${rate.failed} connections failed`);
        samples[p.name]!.connPerSecond.push(rate.perSecond);
      }
    }
    for (const p of paths) {
      if (p.pids().length === 0) continue;
      samples[p.name]!.cpuSecondsPerGiB = cpu[p.name]!.seconds / cpu[p.name]!.gib;
      samples[p.name]!.rssMiB = p.pids().map(rssMiB);
    }

    const names = paths.map((p) => p.name);
    const table = rows(samples, STREAMS);
    say('');
    say(
      `${quick ? 'quick: 1 run' : `medians of ${runs}`}, ${seconds} s per throughput run; ` +
        `${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, Node ${process.version}`,
    );
    for (const line of formatTable(table, names, 'skiff')) say(line);
    if (names.includes('node')) {
      say(
        'node: the Node floor, a TLS connection per client connection and pipe() (bench/node-relay.ts)',
      );
    }
    const rss = samples.skiff!.rssMiB ?? [];
    say(`skiff router RSS after runs: ${rss.map((r) => r.toFixed(0)).join(' + ')} MiB`);
    // Idle streams on a fresh pair: what holding them costs. The full run also measures them
    // on the pair that just carried the workloads, which adds what those left behind.
    const fresh = await startRouterPair();
    cleanup.push(() => fresh.dispose());
    const idleRss = await idleStreamsRss(fresh.expose, fresh.pids, rssMiB, IDLE_STREAMS);
    const mib = (list: number[]) => `${list.map((r) => r.toFixed(0)).join(' + ')} MiB`;
    say(
      `skiff router RSS with ${IDLE_STREAMS} idle streams on one link (fresh routers): ${mib(idleRss)}`,
    );
    const idleAfterRuns = quick
      ? undefined
      : await idleStreamsRss(pair.expose, pair.pids, rssMiB, IDLE_STREAMS);
    if (idleAfterRuns) {
      say(`  the same on the routers after the runs above: ${mib(idleAfterRuns)}`);
    }
    const result = {
      when: new Date().toISOString(),
      quick,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      runs,
      secondsPerThroughputRun: seconds,
      paths: names,
      table: table.map((r) => ({
        workload: r.label,
        ...r.values,
        ...Object.fromEntries(
          names
            .filter((n) => n !== 'skiff')
            .map((b) => [`skiffTo_${b}`, r.values.skiff! / r.values[b]!]),
        ),
      })),
      samples,
      idleStreams: { count: IDLE_STREAMS, routerRssMiB: idleRss, afterRunsRssMiB: idleAfterRuns },
      seconds: (Date.now() - started) / 1000,
    };
    const dir = join(import.meta.dirname, '..', '..', 'bench', 'results');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    say(`written to bench/results/latest.json (${result.seconds.toFixed(0)} s)`);
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
