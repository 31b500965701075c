/**
 * `npm run build && node dist/bench/profile.js [streams] [seconds]`: runs iperf3 through
 * two routers profiled by bench/cpu-profiler.ts (Node 20 refuses --cpu-prof in NODE_OPTIONS), stops them with SIGTERM so the profiles are
 * written, and prints each router's top functions by self time. Profiles stay in
 * bench/results/profiles/ (open them in Chrome DevTools or speedscope for flame graphs).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { iperfClient, startIperfServer } from './iperf.js';
import { startRouterPair } from './router-pair.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

const say = (line: string) => process.stdout.write(`${line}\n`);

function topSelf(profile: Profile, n: number): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const frame = byId.get(id)!.callFrame;
    const file = frame.url.split('/').slice(-2).join('/');
    const key = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...counts.entries()]
    .sort((x, y) => y[1] - x[1])
    .slice(0, n)
    .map(([key, c]) => `${((100 * c) / total).toFixed(1).padStart(5)}%  ${key}`);
}

async function main(): Promise<void> {
  const streams = Number(process.argv[2] ?? 1);
  const seconds = Number(process.argv[3] ?? 10);
  const dir = join(import.meta.dirname, '..', '..', 'bench', 'results', 'profiles');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const preload = join(import.meta.dirname, 'cpu-profiler.js');
  const pair = await startRouterPair({
    env: { NODE_OPTIONS: `--import=${preload}`, SKIFF_CPU_PROF_DIR: dir },
  });
  const iperf = await startIperfServer();
  try {
    const port = await pair.expose('iperf', iperf.port);
    const gbps = await iperfClient(port, streams, seconds);
    say(`${streams} stream(s), ${seconds} s: ${gbps.toFixed(2)} Gbit/s`);
    await pair.a.stop();
    await pair.b.stop();
  } finally {
    iperf.stop();
    await pair.dispose();
  }
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as Profile;
    if (profile.samples.length < 1000) continue; // the CLI runs, not a router
    say(`\n${file} (${profile.samples.length} samples)`);
    for (const line of topSelf(profile, 25)) say(line);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`profile failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
