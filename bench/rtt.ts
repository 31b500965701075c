import { execFile, spawn } from 'node:child_process';
import { startOnFreePorts } from './listening.js';

/** Round-trip percentiles in microseconds. */
export interface Rtt {
  p50: number;
  p99: number;
  p999: number;
}

/** A `sockperf server` (TCP) on 127.0.0.1: it answers each ping-pong message. */
export async function startSockperfServer(): Promise<{ port: number; stop(): void }> {
  const { ports, child } = await startOnFreePorts('sockperf server', 1, ([port]) =>
    spawn('sockperf', ['server', '--tcp', '-i', '127.0.0.1', '-p', String(port)], {
      stdio: 'ignore',
    }),
  );
  return { port: ports[0]!, stop: () => void child.kill('SIGTERM') };
}

/** `sockperf ping-pong --tcp -m 64 --full-rtt` for `seconds`: full round-trip percentiles. */
export function sockperfPingPong(port: number, seconds: number): Promise<Rtt> {
  const args = ['ping-pong', '--tcp', '-i', '127.0.0.1', '-p', String(port)];
  args.push('-m', '64', '-t', String(seconds), '--full-rtt');
  return new Promise((resolve, reject) => {
    execFile('sockperf', args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const text = `${stdout}\n${stderr}`;
      const pick = (p: string) => {
        const m = new RegExp(`percentile ${p.replace('.', '\\.')}\\s*=\\s*([\\d.]+)`).exec(text);
        return m ? Number(m[1]) : Number.NaN;
      };
      const rtt = { p50: pick('50.000'), p99: pick('99.000'), p999: pick('99.900') };
      if (Number.isNaN(rtt.p50)) {
        reject(new Error(`sockperf printed no percentiles: ${err?.message ?? text.slice(-300)}`));
        return;
      }
      resolve(rtt);
    });
  });
}
