/**
 * A target service in its own process, so a test can SIGKILL it (test/helpers/target.ts
 * starts it). `node target-main.js HOST PORT` listens (PORT 0: any) and prints one JSON line
 * per event on stdout: `{"event":"listening","port":P}`, then `{"event":"session",...}` as
 * each download or upload ends, with what this end saw. Each connection starts with a line:
 * - `D <bytes> <seed>`: sends that much of the payload (payload.ts), then FIN;
 * - `U <bytes> <seed>`: reads that much, checking it against the payload, then answers
 *   `ok <sha256>` and FIN;
 * - `E`: echoes everything, FIN for FIN (no report: for many connections at once).
 */
import { createServer, type Socket } from 'node:net';
import { PayloadCheck, payloadAt } from './payload.js';
import { probeEnd } from './socket-end.js';

const CHUNK = 64 * 1024;
const MAX_HEADER = 128;
let sessions = 0;

function report(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(fields)}\n`);
}

/** Reads the first line, then hands the socket (and what followed the line) to the mode. */
function serve(socket: Socket): void {
  socket.on('error', () => undefined); // seen through the write callbacks and 'close'
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const newline = head.indexOf(10);
    if (newline < 0) {
      if (head.length > MAX_HEADER) socket.destroy();
      return;
    }
    socket.off('data', onData);
    const words = head.subarray(0, newline).toString('latin1').split(' ');
    const rest = head.subarray(newline + 1);
    const id = ++sessions;
    const bytes = Number(words[1]);
    const seed = Number(words[2]);
    if (words[0] === 'E') echo(socket, rest);
    else if (words[0] === 'D') void download(socket, id, bytes, seed);
    else if (words[0] === 'U') upload(socket, id, bytes, seed, rest);
    else socket.destroy();
  };
  socket.on('data', onData);
}

function echo(socket: Socket, first: Buffer): void {
  if (first.length > 0) socket.write(first);
  socket.pipe(socket);
}

async function download(socket: Socket, id: number, bytes: number, seed: number): Promise<void> {
  socket.resume(); // the client sends nothing more; a reset must still be read
  let sent = 0;
  let failed = false;
  socket.once('error', () => {
    failed = true;
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  while (sent < bytes && !socket.destroyed) {
    const chunk = payloadAt(seed, sent, Math.min(CHUNK, bytes - sent));
    sent += chunk.length;
    const more = socket.write(chunk, (err) => {
      if (err) failed = true;
    });
    if (!more) {
      await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed]);
    }
  }
  if (!socket.destroyed) socket.end();
  await closed;
  report({ event: 'session', id, mode: 'D', bytes, sent, outcome: failed ? 'reset' : 'complete' });
}

function upload(socket: Socket, id: number, bytes: number, seed: number, first: Buffer): void {
  const check = new PayloadCheck(seed);
  let outcome: string | undefined;
  const onChunk = (chunk: Buffer): void => {
    if (outcome !== undefined) return;
    if (!check.push(chunk)) outcome = 'corrupt';
    else if (check.bytes > bytes) outcome = 'too-long';
    else if (check.bytes === bytes) {
      outcome = 'complete';
      socket.end(`ok ${check.digest()}\n`);
    }
  };
  onChunk(first);
  socket.on('data', onChunk);
  socket.once('end', () => {
    if (outcome !== undefined) return;
    void probeEnd(socket).then((kind) => {
      outcome ??= kind === 'fin' ? 'fin-short' : 'reset';
      socket.destroy();
    });
  });
  socket.once('error', () => {
    outcome ??= 'reset';
  });
  socket.once('close', () => {
    report({
      event: 'session',
      id,
      mode: 'U',
      bytes,
      received: check.bytes,
      mismatchAt: check.mismatchAt,
      outcome: outcome ?? 'reset',
    });
  });
}

const [host = '127.0.0.1', port = '0'] = process.argv.slice(2);
const server = createServer({ allowHalfOpen: true }, serve);
server.listen({ host, port: Number(port) }, () => {
  const address = server.address();
  report({ event: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
