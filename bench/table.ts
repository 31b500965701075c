/** What one path (direct, stunnel, skiff) measured, each workload as a list of runs. */
export interface PathSamples {
  throughputGbps: Record<string, number[]>;
  rttP50: number[];
  rttP99: number[];
  rttP999: number[];
  connPerSecond: number[];
  /** CPU seconds of the tunnel's processes per GiB carried in the throughput runs. */
  cpuSecondsPerGiB?: number;
  /** RSS of each tunnel process after the throughput runs, MiB. */
  rssMiB?: number[];
}

export const median = (xs: number[]): number =>
  xs.length === 0 ? Number.NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface Row {
  label: string;
  /** Larger is better (throughput, conn/s) or smaller (RTT, CPU, RSS). */
  higherIsBetter: boolean;
  values: Record<string, number>;
}

export function rows(paths: Record<string, PathSamples>, streams: number[]): Row[] {
  const per = (f: (p: PathSamples) => number) =>
    Object.fromEntries(Object.entries(paths).map(([name, p]) => [name, f(p)]));
  const out: Row[] = streams.map((n) => ({
    label: `throughput, ${n} stream${n > 1 ? 's' : ''} (Gbit/s)`,
    higherIsBetter: true,
    values: per((p) => median(p.throughputGbps[n] ?? [])),
  }));
  out.push(
    { label: 'RTT p50, 64 B (us)', higherIsBetter: false, values: per((p) => median(p.rttP50)) },
    { label: 'RTT p99 (us)', higherIsBetter: false, values: per((p) => median(p.rttP99)) },
    { label: 'RTT p99.9 (us)', higherIsBetter: false, values: per((p) => median(p.rttP999)) },
    {
      label: 'connections/s, 50 at once',
      higherIsBetter: true,
      values: per((p) => median(p.connPerSecond)),
    },
    {
      label: 'tunnel CPU s per GiB',
      higherIsBetter: false,
      values: per((p) => p.cpuSecondsPerGiB ?? Number.NaN),
    },
    {
      label: 'tunnel RSS after runs (MiB)',
      higherIsBetter: false,
      values: per((p) => (p.rssMiB ? Math.max(...p.rssMiB) : Number.NaN)),
    },
  );
  return out;
}

function fmt(x: number): string {
  if (Number.isNaN(x)) return '-';
  if (x >= 1000) return x.toFixed(0);
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** The table: one column per path, then skiff's ratio to each baseline. */
export function formatTable(all: Row[], names: string[], subject: string): string[] {
  const baselines = names.filter((n) => n !== subject);
  const head = ['workload'.padEnd(30), ...names.map((n) => n.padStart(9))];
  head.push(...baselines.map((b) => `${subject}/${b}`.padStart(14)));
  const lines = [head.join(' ')];
  for (const row of all) {
    const cells = [row.label.padEnd(30), ...names.map((n) => fmt(row.values[n]!).padStart(9))];
    for (const b of baselines) {
      const r = row.values[subject]! / row.values[b]!;
      cells.push((Number.isFinite(r) ? r.toFixed(2) : '-').padStart(14));
    }
    lines.push(cells.join(' '));
  }
  return lines;
}
