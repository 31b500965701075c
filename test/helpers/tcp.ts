import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Payloads: a 1 MiB block of random bytes made once per process, streamed from an offset
 * chosen by a seed and shifted again on every 1 MiB lap, so a payload does not repeat with
 * a short period and different seeds give different byte sequences. Chunks are views of the
 * block (no copy), so generating data costs nothing next to hashing and the routers.
 */
const BLOCK_SIZE = 1024 * 1024;
const BLOCK = randomBytes(BLOCK_SIZE);
const LAP_SHIFT = 4093; // prime: each lap starts at a different offset
const CHUNK = 64 * 1024;

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** What one end saw of a transfer: a byte count and the SHA-256 of those bytes, in hex. */
export interface Transfer {
  bytes: number;
  sha256: string;
}

/** The next chunk of the payload for `seed` at stream position `pos`, at most `max` bytes. */
function chunkAt(seed: number, pos: number, max: number): Buffer {
  const lap = Math.floor(pos / BLOCK_SIZE);
  const inLap = pos % BLOCK_SIZE;
  const start = (((seed * 7919 + lap * LAP_SHIFT + inLap) % BLOCK_SIZE) + BLOCK_SIZE) % BLOCK_SIZE;
  const n = Math.min(max, BLOCK_SIZE - inLap, BLOCK_SIZE - start);
  return BLOCK.subarray(start, start + n);
}

/** The digest of the payload sendPattern(…, bytes, seed) sends, computed without a socket. */
export function patternDigest(bytes: number, seed: number): Transfer {
  const hash = createHash('sha256');
  for (let pos = 0; pos < bytes; ) {
    const chunk = chunkAt(seed, pos, Math.min(CHUNK, bytes - pos));
    hash.update(chunk);
    pos += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Live view of a sender, for tests that watch backpressure. */
export interface SendProgress {
  /** Bytes handed to socket.write() so far. */
  sent: number;
  /** True while the last write() returned false and 'drain' has not come yet. */
  blocked: boolean;
  /** How many times write() returned false. */
  stalls: number;
}

export function newProgress(): SendProgress {
  return { sent: 0, blocked: false, stalls: 0 };
}

/** Traffic shaping for sendPattern: a pause of `pauseMs` after every `every` bytes. */
export interface Pace {
  every: number;
  pauseMs: number;
}

/**
 * Writes `bytes` of the payload for `seed` to `socket`, respecting backpressure (waits for
 * 'drain' whenever write() returns false), hashing what it writes, then ends the socket's
 * write side unless `end` is false. With `pace`, pauses between bursts (a client that talks,
 * then thinks). Rejects if the socket closes or errors first.
 */
export async function sendPattern(
  socket: Socket,
  bytes: number,
  seed: number,
  {
    end = true,
    progress = newProgress(),
    pace,
  }: { end?: boolean; progress?: SendProgress; pace?: Pace } = {},
): Promise<Transfer> {
  const hash = createHash('sha256');
  let pos = 0;
  let nextPause = pace?.every ?? Number.POSITIVE_INFINITY;
  while (pos < bytes) {
    if (pace && pos >= nextPause) {
      nextPause = pos + pace.every;
      await delay(pace.pauseMs);
    }
    if (socket.destroyed) throw new Error(`socket closed after sending ${pos} of ${bytes} bytes`);
    const chunk = chunkAt(seed, pos, Math.min(CHUNK, bytes - pos, nextPause - pos));
    hash.update(chunk);
    pos += chunk.length;
    progress.sent = pos;
    if (!socket.write(chunk)) {
      progress.blocked = true;
      progress.stalls += 1;
      await drained(socket);
      progress.blocked = false;
    }
  }
  if (end) socket.end();
  return { bytes, sha256: hash.digest('hex') };
}

function drained(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const onDrain = (): void => {
      done();
      resolve();
    };
    const onClose = (): void => {
      done();
      reject(new Error('socket closed while waiting for drain'));
    };
    const onError = (err: Error): void => {
      done();
      reject(err);
    };
    socket.on('drain', onDrain);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

/**
 * Reads `socket` to EOF, hashing everything. Resolves on 'end'; rejects on 'error' or on a
 * close without 'end'. Resumes the socket (also one paused with socket.pause()).
 */
export function receiveAll(socket: Socket): Promise<Transfer> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    socket.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`socket closed without end after ${bytes} bytes`)));
    socket.resume();
  });
}

/** Reads `socket` to EOF and returns the bytes (for small replies). */
export function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('socket closed without end')));
    socket.resume();
  });
}

/** How a socket's life ended, from its own point of view. */
export interface Outcome {
  /** 'end' arrived (the peer closed its write side cleanly). */
  sawEnd: boolean;
  /** The error emitted, if any (ECONNRESET for a reset). */
  error: NodeJS.ErrnoException | undefined;
  /** Bytes received before that. */
  bytes: number;
}

/**
 * Settles at the first sign of how the socket ends: 'end' (clean half-close), 'error', or
 * 'close' with neither. With `untilClose`, waits for 'close' and reports everything seen.
 */
export function outcome(socket: Socket, { untilClose = false } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const seen: Outcome = { sawEnd: false, error: undefined, bytes: 0 };
    socket.on('data', (chunk: Buffer) => {
      seen.bytes += chunk.length;
    });
    socket.once('end', () => {
      seen.sawEnd = true;
      if (!untilClose) resolve(seen);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      seen.error = err;
      if (!untilClose) resolve(seen);
    });
    socket.once('close', () => resolve(seen));
  });
}

/** Records a socket's errors so an error with no other listener cannot crash the test process. */
function guard(socket: Socket): Socket {
  socket.on('error', () => {
    // Seen by whichever helper awaits this socket; otherwise deliberately ignored.
  });
  return socket;
}

/** Client sockets still open: destroyed by destroyClients() so none keeps a test process alive. */
const clients = new Set<Socket>();

/**
 * Destroys every client socket made by connect() that is still open. A half-open client
 * (allowHalfOpen, peer gone) would otherwise keep the test process from exiting. Fixtures
 * call it on dispose; call it in after() in files that use connect() without a fixture.
 */
export function destroyClients(): void {
  for (const socket of clients) socket.destroy();
  clients.clear();
}

/** A TCP connection to 127.0.0.1:port, resolved once connected. Half-open allowed by default. */
export function connect(port: number, { allowHalfOpen = true } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen });
    clients.add(socket);
    socket.once('close', () => clients.delete(socket));
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(guard(socket));
    });
    socket.once('error', reject);
  });
}

export interface TcpServer {
  readonly port: number;
  readonly server: Server;
  /** Every connection accepted so far, in order. */
  readonly accepted: Socket[];
  /** Resolves when at least `count` connections have been accepted; returns the count-th. */
  connection(count?: number): Promise<Socket>;
  /** Destroys open connections and closes the server. Safe to call twice. */
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 (an OS-chosen port unless given), with `onConnection` per accepted socket. */
export async function startServer(
  onConnection: (socket: Socket) => void,
  { allowHalfOpen = true, port = 0 }: { allowHalfOpen?: boolean; port?: number } = {},
): Promise<TcpServer> {
  const accepted: Socket[] = [];
  const open = new Set<Socket>();
  const waiters: Array<{ count: number; resolve(socket: Socket): void }> = [];
  const server = createServer({ allowHalfOpen }, (socket) => {
    guard(socket);
    accepted.push(socket);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    onConnection(socket);
    for (const waiter of [...waiters]) {
      if (accepted.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(accepted[waiter.count - 1]!);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    server,
    accepted,
    connection(count = accepted.length + 1) {
      if (accepted.length >= count) return Promise.resolve(accepted[count - 1]!);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

export type EchoServer = TcpServer & { received: Transfer[] };

/**
 * Echo server that also hashes what each connection sent; `received` fills as connections end.
 * With `greeting`, writes `${greeting}\n` first on every connection (to tell servers apart).
 */
export async function startEchoServer({
  greeting,
}: {
  greeting?: string;
} = {}): Promise<EchoServer> {
  const received: Transfer[] = [];
  const server = await startServer((socket) => {
    if (greeting !== undefined) socket.write(`${greeting}\n`);
    const hash = createHash('sha256');
    let bytes = 0;
    let waiting = false;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (!socket.write(chunk) && !waiting) {
        waiting = true;
        socket.pause();
        socket.once('drain', () => {
          waiting = false;
          socket.resume();
        });
      }
    });
    socket.once('end', () => {
      received.push({ bytes, sha256: hash.digest('hex') });
      socket.end();
    });
  });
  return Object.assign(server, { received });
}

/** One connection's two halves at a sink-and-source server. */
export interface Session {
  received: Promise<Transfer>;
  sent: Promise<Transfer>;
}

/**
 * For every connection: hashes everything received, and at the same time sends
 * `replyBytes` of the payload for `replySeed` then ends its write side (allowHalfOpen).
 */
export type SinkSourceServer = TcpServer & { sessions: Session[] };

export async function startSinkSourceServer(
  replyBytes: number,
  replySeed: number,
  progress?: SendProgress,
): Promise<SinkSourceServer> {
  const sessions: Session[] = [];
  const server = await startServer((socket) => {
    const received = receiveAll(socket);
    const sent = sendPattern(socket, replyBytes, replySeed, progress ? { progress } : {});
    // Awaited by the test later; until then a failure must not count as unhandled.
    received.catch(() => {});
    sent.catch(() => {});
    sessions.push({ received, sent });
  });
  return Object.assign(server, { sessions });
}

/** One request with no keep-alive (so no pooled socket outlives the test). */
export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'GET',
        agent: false,
        headers: { connection: 'close' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`GET 127.0.0.1:${port}${path} timed out`)));
    req.end();
  });
}
