/**
 * The app the cluster tests run in pods (image `skiff-test/echo:1`):
 * `node echo-main.js PORT HEALTH_PORT`. Each TCP connection on PORT first gets a line
 * naming the pod ($POD_NAME), then everything it sends echoed back, FIN for FIN; when it
 * closes, one JSON line on stdout (the pod's log) says how many bytes came in and their
 * SHA-256. HTTP on HEALTH_PORT: GET /ready answers 200, or 503 while the file
 * $UNREADY_FILE exists; GET /healthz answers 200 until the process gets SIGUSR1, then 500.
 * SIGTERM is logged, then ends the process, unless $IGNORE_SIGTERM is 1.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';

const [port = '8080', healthPort = '8081'] = process.argv.slice(2);
const pod = process.env.POD_NAME ?? 'unknown';
let live = true;

function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

function serve(socket: Socket): void {
  const hash = createHash('sha256');
  let bytes = 0;
  socket.on('error', () => undefined);
  socket.write(`${pod}\n`);
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  socket.pipe(socket);
  socket.once('close', () => log({ event: 'session', bytes, sha256: hash.digest('hex') }));
}

const server = createServer({ allowHalfOpen: true }, serve);
const health = createHttpServer((req, res) => {
  const ok =
    req.url === '/ready'
      ? !(process.env.UNREADY_FILE && existsSync(process.env.UNREADY_FILE))
      : req.url === '/healthz'
        ? live
        : false;
  res.statusCode = ok ? 200 : req.url === '/ready' ? 503 : req.url === '/healthz' ? 500 : 404;
  res.end(ok ? 'ok\n' : 'no\n');
});

process.on('SIGUSR1', () => {
  live = false;
  log({ event: 'unhealthy' });
});
process.on('SIGTERM', () => {
  log({ event: 'sigterm' });
  if (process.env.IGNORE_SIGTERM === '1') return;
  server.close();
  health.close();
  process.exit(0);
});

server.listen(Number(port), '0.0.0.0', () => {
  health.listen(Number(healthPort), '0.0.0.0', () => {
    log({ event: 'listening', pod, uid: process.getuid?.(), port: Number(port) });
  });
});
