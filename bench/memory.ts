/**
 * `node dist/bench/memory.js`: where a router pair's RSS goes. Prints each router's RSS,
 * split by mapping from /proc/PID/smaps (the node binary's pages, V8's anonymous
 * mappings, glibc's malloc heap), idle and after iperf3 with 1, 8 and 64 streams.
 */
import { readFileSync } from 'node:fs';
import { iperfClient, startIperfServer } from './iperf.js';
import { startRouterPair } from './router-pair.js';

/** RSS in MiB by kind of mapping. */
function breakdown(pid: number): string {
  const kib: Record<string, number> = {};
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const path = mapping[1] ?? '';
      kind =
        path === ''
          ? 'anon'
          : path === '[heap]'
            ? 'malloc-heap'
            : /node$/.test(path)
              ? 'node-binary'
              : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+)/.exec(line);
    if (rss) kib[kind] = (kib[kind] ?? 0) + Number(rss[1]);
  }
  const total = Object.values(kib).reduce((a, b) => a + b, 0);
  const parts = Object.entries(kib).map(([k, v]) => `${k} ${Math.round(v / 1024)}`);
  return `RSS ${Math.round(total / 1024)} MiB (${parts.join(', ')})`;
}

const pair = await startRouterPair();
const iperf = await startIperfServer();
try {
  const port = await pair.expose('iperf', iperf.port);
  const [a, b] = pair.pids() as [number, number];
  const show = (when: string) => {
    process.stdout.write(
      `${when}\n  connector router: ${breakdown(a)}\n  listener router:  ${breakdown(b)}\n`,
    );
  };
  show('idle, linked');
  for (const streams of [1, 8, 64]) {
    const gbits = await iperfClient(port, streams, 3);
    show(`after iperf3 with ${streams} streams (${gbits.toFixed(2)} Gbit/s)`);
  }
} finally {
  iperf.stop();
  await pair.dispose();
}
