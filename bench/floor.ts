/**
 * `node dist/bench/floor.js [seconds] [rounds]`: stunnel, the Node floor (bench/node-relay.ts:
 * a TLS connection per client connection and pipe(), nothing else) and skiff, in the same
 * run, interleaved round by round: iperf3 1 and 8 streams, sockperf 64-byte ping-pong, CPU
 * seconds per GiB and RSS. It answers: how much of skiff's gap to stunnel is Node's own.
 */
import { iperfClient, measuredIperf, startIperfServer } from './iperf.js';
import { startNodeFloor } from './node-floor.js';
import { rssMiB } from './proc.js';
import { startRouterPair } from './router-pair.js';
import { sockperfPingPong, startSockperfServer } from './rtt.js';
import { startStunnelPair } from './stunnel.js';

const seconds = Number(process.argv[2] ?? 3);
const rounds = Number(process.argv[3] ?? 3);
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Path {
  name: string;
  portFor(target: number): number;
  pids(): number[];
  samples: Record<string, number[]>;
  cpu: { seconds: number; gib: number };
}

const iperf = await startIperfServer();
const sockperf = await startSockperfServer();
const targets = [iperf.port, sockperf.port];
const stunnel = await startStunnelPair(targets);
const floor = await startNodeFloor(targets);
const pair = await startRouterPair();
const skiffPorts = new Map<number, number>();
for (const t of targets) skiffPorts.set(t, await pair.expose(`t${t}`, t));
const path = (name: string, portFor: (t: number) => number, pids: () => number[]): Path => ({
  name,
  portFor,
  pids,
  samples: {},
  cpu: { seconds: 0, gib: 0 },
});
const paths = [
  path('stunnel', stunnel.portFor, stunnel.pids),
  path('node-floor', floor.portFor, floor.pids),
  path('skiff', (t) => skiffPorts.get(t)!, pair.pids),
];
const push = (p: Path, key: string, v: number) => {
  p.samples[key] ??= [];
  p.samples[key].push(v);
};
try {
  for (const p of paths.slice(1)) await iperfClient(p.portFor(iperf.port), 8, 1);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? paths : [...paths].reverse();
    for (const streams of [1, 8]) {
      for (const p of order) {
        const run = await measuredIperf(p.portFor(iperf.port), streams, seconds, p.pids());
        p.cpu.seconds += run.cpuSeconds;
        p.cpu.gib += run.gib;
        push(p, `${streams} stream Gbit/s`, run.gbits);
      }
    }
    for (const p of order) {
      const rtt = await sockperfPingPong(p.portFor(sockperf.port), seconds);
      push(p, 'RTT p50 us', rtt.p50);
      push(p, 'RTT p99 us', rtt.p99);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const p of paths) {
    const cells = Object.entries(p.samples).map(
      ([k, v]) => `${k} ${median(v).toFixed(2)} [${v.map((x) => x.toFixed(1)).join(' ')}]`,
    );
    const rss = p.pids().map((pid) => rssMiB(pid).toFixed(0));
    say(
      `${p.name}: ${cells.join('; ')}; CPU ${(p.cpu.seconds / p.cpu.gib).toFixed(2)} s/GiB; RSS ${rss.join(' + ')} MiB`,
    );
  }
} finally {
  iperf.stop();
  sockperf.stop();
  await stunnel.stop();
  await floor.stop();
  await pair.dispose();
}
