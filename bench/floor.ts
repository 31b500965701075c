/**
 * `node dist/bench/floor.js [seconds] [rounds]`: stunnel, the Node floor (bench/node-relay.ts:
 * a TLS connection per client connection and pipe(), nothing else) and skiff, in the same
 * run, interleaved round by round: iperf3 1 and 8 streams, sockperf 64-byte ping-pong, CPU
 * seconds per GiB and RSS. It answers: how much of skiff's gap to stunnel is Node's own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/ports.js';
import { routerLaunch } from '../test/helpers/router.js';
import { iperfClient, startIperfServer, waitForPort } from './iperf.js';
import { rssMiB, totalCpuSeconds } from './proc.js';
import { startRouterPair } from './router-pair.js';
import { sockperfPingPong, startSockperfServer } from './rtt.js';
import { makeCerts, startStunnelPair } from './stunnel.js';

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

async function startNodeRelayPair(targets: number[]) {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-floor-'));
  makeCerts(dir);
  const script = join(import.meta.dirname, 'node-relay.js');
  const children: ChildProcess[] = [];
  const ports = new Map<number, number>();
  const sides = { client: [] as string[], server: [] as string[] };
  for (const target of targets) {
    const tlsPort = await freePort();
    const plainPort = await freePort();
    ports.set(target, plainPort);
    sides.server.push(`${tlsPort}:${target}`);
    sides.client.push(`${plainPort}:${tlsPort}`);
  }
  // The routers' node flags and environment, so the two differ only in the code they run.
  const launch = routerLaunch();
  for (const role of ['server', 'client'] as const) {
    const args = [...launch.nodeArgs, script, role, dir, ...sides[role]];
    const env = { ...process.env, ...launch.env };
    children.push(spawn(process.execPath, args, { stdio: 'inherit', env }));
    for (const pair of sides[role]) await waitForPort(Number(pair.split(':')[0]));
  }
  return {
    portFor: (t: number) => ports.get(t)!,
    pids: () => children.map((c) => c.pid!),
    stop: async () => {
      for (const c of children) c.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const iperf = await startIperfServer(await freePort());
const sockperf = await startSockperfServer(await freePort());
const targets = [iperf.port, sockperf.port];
const stunnel = await startStunnelPair(targets);
const floor = await startNodeRelayPair(targets);
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
        const cpu0 = totalCpuSeconds(p.pids());
        const gbits = await iperfClient(p.portFor(iperf.port), streams, seconds);
        p.cpu.seconds += totalCpuSeconds(p.pids()) - cpu0;
        p.cpu.gib += (gbits * 1e9 * seconds) / 8 / 2 ** 30;
        push(p, `${streams} stream Gbit/s`, gbits);
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
