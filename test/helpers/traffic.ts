/**
 * Traffic through a listener, judged at both ends: which site answered, whether an echo came
 * back byte-exact, and how a stream that did not complete ended (reset or silently cut).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { tcpEntry } from './socket-end.js';
import {
  connect,
  type Pace,
  patternDigest,
  readAll,
  receiveAll,
  type SinkSourceServer,
  sendPattern,
  type Transfer,
} from './tcp.js';
import { withTimeout } from './wait.js';

/**
 * One short request/response through `port` to a greeting echo server
 * (startEchoServer({ greeting })): returns the greeting, i.e. which site answered.
 * Rejects if the reply is not the greeting followed by the exact request.
 */
export async function whoAnswers(port: number, timeoutMs = 5_000): Promise<string> {
  const request = `ping ${port} ${Math.random()}`;
  const socket = await connect(port);
  try {
    const reply = readAll(socket);
    socket.end(request);
    const text = (await withTimeout(reply, timeoutMs, `a reply through port ${port}`)).toString();
    const newline = text.indexOf('\n');
    assert.ok(
      newline > 0,
      `the reply starts with the answering site's name: ${JSON.stringify(text)}`,
    );
    assert.equal(text.slice(newline + 1), request, 'the request came back exactly');
    return text.slice(0, newline);
  } finally {
    socket.destroy();
  }
}

/** `count` sequential whoAnswers(port): how many each site answered. */
export async function countAnswers(port: number, count: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const site = await whoAnswers(port);
    counts.set(site, (counts.get(site) ?? 0) + 1);
  }
  return counts;
}

/** "b=52 c=48", for messages and diagnostics. */
export function formatCounts(counts: ReadonlyMap<string, number>): string {
  return (
    [...counts]
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([site, n]) => `${site}=${n}`)
      .join(' ') || '(none)'
  );
}

/**
 * How one echo stream ended, from the client's side:
 * - complete: a clean end after the greeting and the whole payload, byte-exact;
 * - reset: an error (ECONNRESET, or EPIPE on the next write after an EOF that was really a
 *   reset, see receiveGreeted) or a close without end: the client knows it was cut;
 * - truncated: a clean end with fewer bytes than sent, and no error after it while the
 *   client went on sending (a silent truncation);
 * - corrupt: a clean end with as many bytes as sent but a different digest;
 * - empty: a clean end with nothing at all, not even a greeting (no route, or a refusal);
 * - hung: nothing settled before the stream's own deadline.
 */
export type StreamOutcome = 'complete' | 'reset' | 'truncated' | 'corrupt' | 'empty' | 'hung';

export interface StreamReport {
  outcome: StreamOutcome;
  /** The greeting: which site's server took the stream ('' if none arrived). */
  site: string;
  /** What the client sent in full (its digest is known before sending). */
  expected: Transfer;
  /** What came back after the greeting. */
  echoed: Transfer;
  /** The error message, for reset. */
  error?: string;
  /** Wall-clock start (epoch ms), to find the stream in the routers' logs. */
  startedAt: number;
  ms: number;
}

export interface EchoStreamOptions {
  bytes: number;
  seed: number;
  pace?: Pace;
  /** The stream is destroyed and reported hung if it has not ended by then. */
  deadlineMs: number;
  /** Called once the greeting has arrived (the stream reached a server). */
  onSite?: (site: string) => void;
}

/**
 * Sends `bytes` of the payload for `seed` through `port` to a greeting echo server, reading
 * the greeting and the echo at the same time, and reports how the stream ended. Never rejects
 * for what happened to the stream; only a failure to connect to the listener rejects.
 */
export async function echoStream(
  port: number,
  { bytes, seed, pace, deadlineMs, onSite }: EchoStreamOptions,
): Promise<StreamReport> {
  const started = performance.now();
  const startedAt = Date.now();
  const expected = patternDigest(bytes, seed);
  const socket = await connect(port);
  const received = receiveGreeted(socket, onSite);
  sendPattern(socket, bytes, seed, pace ? { pace } : {}).catch(() => {
    // A send cut short shows up on the receiving side as a reset or a truncation.
  });
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), deadlineMs);
  });
  try {
    const result = await Promise.race([received, hung]);
    const ms = performance.now() - started;
    if (result === 'hung') {
      const echoed = { bytes: 0, sha256: '' };
      return { outcome: 'hung', site: '', expected, echoed, startedAt, ms };
    }
    const { site, echoed, ended, error } = result;
    const base = { site, expected, echoed, startedAt, ms };
    if (error !== undefined) {
      return { ...base, outcome: 'reset', error: ended ? `EOF, then ${error}` : error };
    }
    if (!ended) return { ...base, outcome: 'reset', error: 'closed without end' };
    if (site === '' && echoed.bytes === 0) return { ...base, outcome: 'empty' };
    if (echoed.bytes < expected.bytes) return { ...base, outcome: 'truncated' };
    if (echoed.sha256 !== expected.sha256) return { ...base, outcome: 'corrupt' };
    return { ...base, outcome: 'complete' };
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

interface Greeted {
  site: string;
  echoed: Transfer;
  /** A clean 'end' arrived. */
  ended: boolean;
  /** The first error (ECONNRESET, EPIPE...), also one that came after 'end'. */
  error?: string;
}

/**
 * Reads `greeting\n` then hashes the rest until 'close', noting 'end' and any error. It waits
 * for 'close' rather than settling at 'end' because Linux may report a peer's RST as EOF to
 * a reader (when the pending error is taken by a write first: run with two Node sockets, a
 * resetAndDestroy() mid-transfer is seen as 'end' about one time in ten); the client's next
 * write then fails with EPIPE or ECONNRESET, which is what tells a reset from a clean end.
 */
function receiveGreeted(socket: Socket, onSite?: (site: string) => void): Promise<Greeted> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let head = Buffer.alloc(0);
    let site: string | undefined;
    let bytes = 0;
    let ended = false;
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (site === undefined) {
        head = Buffer.concat([head, chunk]);
        const newline = head.indexOf(0x0a);
        if (newline < 0) return;
        site = head.subarray(0, newline).toString();
        onSite?.(site);
        chunk = head.subarray(newline + 1);
      }
      hash.update(chunk);
      bytes += chunk.length;
    });
    // Taken now: the ports are gone from the socket by the time it ends.
    const { localPort, remotePort } = socket;
    socket.once('end', () => {
      ended = true;
      // libuv reports a RST that finds unread bytes as EOF, and a client that has sent all
      // and half-closed has no write left to find out. The kernel knows: after a FIN the
      // connection is listed (TIME_WAIT, or CLOSE_WAIT if we still send), after a RST not.
      if (tcpEntry(localPort, remotePort) === undefined) error ??= 'RST reported as EOF';
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.once('close', () =>
      resolve({
        site: site ?? '',
        echoed: { bytes, sha256: hash.digest('hex') },
        ended,
        ...(error === undefined ? {} : { error }),
      }),
    );
    socket.resume();
  });
}

/** What both ends of an exchange() saw. */
export interface Exchanged {
  ms: number;
  sent: Transfer;
  received: Transfer;
  serverReceived: Transfer;
  serverSent: Transfer;
}

/**
 * Through `port`, sends `bytes` of the payload for `seed` while receiving what the
 * sink-and-source `server` sends; returns the digests taken at both ends, and the time.
 */
export async function exchange(
  port: number,
  server: SinkSourceServer,
  bytes: number,
  seed: number,
): Promise<Exchanged> {
  const started = performance.now();
  const socket = await connect(port);
  const [sent, received] = await Promise.all([
    sendPattern(socket, bytes, seed),
    receiveAll(socket),
  ]);
  const session = server.sessions.at(-1)!;
  const [serverReceived, serverSent] = await Promise.all([session.received, session.sent]);
  return { ms: performance.now() - started, sent, received, serverReceived, serverSent };
}

/** Asserts an exchange arrived byte-exact both ways (sha256 at both ends). */
export function assertExchanged(x: Exchanged, what: string): void {
  assert.deepEqual(x.serverReceived, x.sent, `${what}: the target received what the client sent`);
  assert.deepEqual(x.received, x.serverSent, `${what}: the client received what the target sent`);
}
