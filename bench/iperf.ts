import { execFile, spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { startOnFreePorts } from './listening.js';
import { totalCpuSeconds } from './proc.js';

/** An `iperf3 -s` on 127.0.0.1, the target of every throughput workload. */
export interface IperfServer {
  port: number;
  stop(): void;
}

/** `iperf3 -s` on a picked port (another one if that was taken before iperf3 bound it). */
export async function startIperfServer(): Promise<IperfServer> {
  const { ports, child } = await startOnFreePorts('iperf3 -s', 1, ([port]) =>
    spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }),
  );
  return { port: ports[0]!, stop: () => void child.kill('SIGTERM') };
}

/**
 * Runs `iperf3 -c 127.0.0.1 -p port -P streams -t seconds -J`; returns received Gbit/s.
 * A failed run is retried twice after a pause: iperf3's server takes a moment to accept
 * the next test, and a shared host has its moments.
 */
export async function iperfClient(port: number, streams: number, seconds: number): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await iperfOnce(port, streams, seconds);
    } catch (err) {
      if (attempt === 3) throw err;
      await delay(1000);
    }
  }
}

function iperfOnce(port: number, streams: number, seconds: number): Promise<number> {
  const args = ['-c', '127.0.0.1', '-p', String(port), '-P', String(streams)];
  args.push('-t', String(seconds), '-J', '--connect-timeout', '5000');
  return new Promise((resolve, reject) => {
    execFile('iperf3', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      let report: { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
      try {
        report = JSON.parse(stdout);
      } catch {
        reject(new Error(`iperf3 printed no JSON: ${err?.message ?? stdout.slice(0, 200)}`));
        return;
      }
      const bps = report.end?.sum_received?.bits_per_second;
      if (report.error || bps === undefined) {
        reject(new Error(`iperf3 -P ${streams}: ${report.error ?? 'no sum_received'}`));
        return;
      }
      resolve(bps / 1e9);
    });
  });
}

/** One iperfClient run and what it cost the tunnel's processes. */
export interface MeasuredRun {
  gbits: number;
  /** GiB received. */
  gib: number;
  /** CPU seconds `pids` used during the run. */
  cpuSeconds: number;
}

export async function measuredIperf(
  port: number,
  streams: number,
  seconds: number,
  pids: readonly number[],
): Promise<MeasuredRun> {
  const before = totalCpuSeconds(pids);
  const gbits = await iperfClient(port, streams, seconds);
  return {
    gbits,
    gib: (gbits * 1e9 * seconds) / 8 / 2 ** 30,
    cpuSeconds: totalCpuSeconds(pids) - before,
  };
}
