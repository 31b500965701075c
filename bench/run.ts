/**
 * `npm run bench [-- --quick]`: single-stream throughput through two real routers (a TLS
 * link exactly as in production) against direct loopback, in the same run, as medians of
 * three. Prints a table and writes bench/results/latest.json. The full suite (iperf3,
 * stunnel, RTT, connection rate, RSS) is the performance issue's work.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { exposeAndListen, twoLinkedSites } from '../test/helpers/pair.js';

const quick = process.argv.includes('--quick');
const bytes = (quick ? 256 : 1024) * 1024 * 1024;
const runs = 3;
const block = Buffer.alloc(1024 * 1024, 0x5a);
const say = (line: string) => process.stdout.write(`${line}\n`);

/** A server that swallows each connection and reports when it has seen the end. */
function startSink(): Promise<{ server: Server; port: number; done: () => Promise<number> }> {
  let waiter: ((n: number) => void) | undefined;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    let n = 0;
    socket.on('data', (c: Buffer) => {
      n += c.length;
    });
    socket.on('end', () => {
      socket.end();
      waiter?.(n);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ server, port, done: () => new Promise((r) => (waiter = r)) });
    });
  });
}

/** Sends `bytes` to port as fast as backpressure allows; returns Gbit/s at the receiver. */
async function push(port: number, received: () => Promise<number>): Promise<number> {
  const got = received();
  const start = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.setNoDelay(true);
    socket.once('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        sent += block.length;
        if (!socket.write(block)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    socket.once('connect', pump);
    socket.on('data', () => undefined);
    socket.once('close', () => resolve());
  });
  const n = await got;
  if (n !== bytes) throw new Error(`sink got ${n} of ${bytes} bytes`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (bytes * 8) / seconds / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const sink = await startSink();
  const sites = await twoLinkedSites({ settings: {} });
  try {
    const listenerPort = await exposeAndListen(sites.b, sites.a, 'sink', sink.port);
    const direct: number[] = [];
    const routed: number[] = [];
    for (let i = 0; i < runs; i++) {
      direct.push(await push(sink.port, sink.done));
      routed.push(await push(listenerPort, sink.done));
    }
    const result = {
      when: new Date().toISOString(),
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      bytesPerRun: bytes,
      runs,
      singleStreamGbps: { direct: median(direct), routed: median(routed) },
      ratioRoutedToDirect: median(routed) / median(direct),
      samples: { direct, routed },
    };
    say(`single stream, ${bytes / 2 ** 20} MiB, median of ${runs} (Gbit/s)`);
    say(`  direct loopback       ${result.singleStreamGbps.direct.toFixed(2)}`);
    say(`  two skiff routers     ${result.singleStreamGbps.routed.toFixed(2)}`);
    say(`  ratio routed/direct   ${result.ratioRoutedToDirect.toFixed(3)}`);
    const dir = join(import.meta.dirname, '..', '..', 'bench', 'results');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    say(`written to bench/results/latest.json`);
  } finally {
    await sites.dispose();
    sink.server.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
