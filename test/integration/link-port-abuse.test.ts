/**
 * The link port is open to anyone, so a client that does not make progress must not hold
 * a connection on it: the TLS handshake and then the whole request (the WebSocket upgrade,
 * or a redeem with its body) must arrive within handshakeTimeoutMs. Hostile clients of
 * every kind are dropped in time, and the site still redeems tokens and links afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { exposeAndListen, linkSites, type TwoSites, twoSites } from '../helpers/pair.js';
import { match, RouterProcess } from '../helpers/router.js';
import { destroyClients, type EchoServer, MiB, startEchoServer } from '../helpers/tcp.js';
import { echoStream } from '../helpers/traffic.js';
import { Cleanup, pollUntil, withTimeout } from '../helpers/wait.js';

const HANDSHAKE_MS = 800;
/** A dropped connection must close by then: the deadline plus a scheduling margin. */
const CLOSED_BY_MS = HANDSHAKE_MS + 1500;

type Abuser = (port: number) => Socket;

/** Connects and, once TLS is up, runs `then` (no client certificate: anyone can do this). */
function tlsThen(port: number, then: (s: Socket) => void): Socket {
  const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  s.once('secureConnect', () => then(s));
  return s;
}

/** Sends `text` one byte every 100 ms: always active, never done. */
function drip(s: Socket, text: string): void {
  let i = 0;
  const timer = setInterval(() => {
    if (i >= text.length || s.destroyed) clearInterval(timer);
    else s.write(text[i++]!);
  }, 100);
  s.once('close', () => clearInterval(timer));
}

const abusers: Record<string, Abuser> = {
  'TCP, no TLS handshake': (port) => tcpConnect({ host: '127.0.0.1', port }),
  'TLS, then silence': (port) => tlsThen(port, () => {}),
  'TLS, then half the request headers': (port) =>
    tlsThen(port, (s) => s.write('GET /v1/link HTTP/1.1\r\nHost: x\r\n')),
  'TLS, then a redeem whose body never ends': (port) =>
    tlsThen(port, (s) =>
      s.write('POST /v1/redeem HTTP/1.1\r\nHost: x\r\ncontent-length: 400\r\n\r\n{"tok'),
    ),
  'TLS, then headers dripped a byte at a time': (port) =>
    tlsThen(port, (s) =>
      drip(s, `GET /v1/link HTTP/1.1\r\nHost: x\r\n${'x-pad: 1\r\n'.repeat(40)}`),
    ),
};

/** Resolves with how long the server took to close the connection. */
function closedAfter(s: Socket): Promise<number> {
  const t0 = Date.now();
  s.on('error', () => {});
  return withTimeout(
    new Promise<number>((resolve) => s.once('close', () => resolve(Date.now() - t0))),
    CLOSED_BY_MS,
    'the server to drop the connection',
  );
}

describe('hostile clients on the link port', { timeout: 90_000 }, () => {
  let sites: TwoSites | undefined;
  after(() => sites?.dispose(), { timeout: 30_000 });

  test('each is dropped within the handshake timeout, and linking still works', {
    timeout: 60_000,
  }, async (t) => {
    sites = await twoSites({ settings: { handshakeTimeoutMs: HANDSHAKE_MS, backoffMaxMs: 1000 } });
    const port = sites.a.linkPort;
    const sockets = Object.entries(abusers).map(([name, open]) => ({ name, socket: open(port) }));
    try {
      const times = await Promise.all(
        sockets.map(async ({ name, socket }) => {
          const ms = await closedAfter(socket).catch((err: Error) => {
            throw new Error(`${name}: ${err.message}`);
          });
          return `${name} ${ms} ms`;
        }),
      );
      t.diagnostic(`dropped: ${times.join('; ')}`);
    } finally {
      for (const { socket } of sockets) socket.destroy();
    }
    const link = await linkSites(sites.a, sites.b, sites.workDir);
    assert.equal(link.state, 'up');
  });
});

/** A router under `prlimit --nofile=1024`, as in the issue: strangers must not take its fds. */
const FD_LIMIT = 1024;
/** The default per-source cap, and the total cap the router derives: a quarter of its fd limit. */
const PER_SOURCE = 10;
const TOTAL = FD_LIMIT / 4;
/** More idle connections than the router has fds. */
const FLOOD = 1_100;

/** A TCP connection from `localAddress` (any 127.0.0.0/8 address is loopback) that stays idle. */
function idleFrom(localAddress: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when `s` has been closed by the server (or at once if it already was). */
function whenClosed(s: Socket): Promise<void> {
  s.on('error', () => {});
  s.resume();
  return s.destroyed
    ? Promise.resolve()
    : new Promise((resolve) => s.once('close', () => resolve()));
}

/** TLS (no client certificate) over TCP from `localAddress`. */
function tlsFrom(localAddress: string, port: number): Socket {
  const tcp = tcpConnect({ host: '127.0.0.1', port, localAddress });
  tcp.on('error', () => {});
  return tlsConnect({ socket: tcp, rejectUnauthorized: false });
}

interface Answer {
  status: number;
  body: string;
}

/** One HTTPS request to the link port from `localAddress`, the way a stranger would send it. */
function requestFrom(
  localAddress: string,
  port: number,
  head: string,
  body: string | Buffer = '',
  { end = true }: { end?: boolean } = {},
): Promise<Answer> {
  return withTimeout(
    new Promise<Answer>((resolve, reject) => {
      const s = tlsFrom(localAddress, port);
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.once('secureConnect', () => {
        const bytes = Buffer.concat([Buffer.from(head), Buffer.from(body)]);
        if (end) s.end(bytes);
        else s.write(bytes); // a client sending without end: the server must cut it off
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        if (chunks.length === 0) reject(err);
      });
      s.once('close', () => {
        const text = Buffer.concat(chunks).toString();
        const status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
        resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
      });
    }),
    10_000,
    `an answer from the link port to ${localAddress}`,
  );
}

function redeemHead(length: number): string {
  return `POST /v1/redeem HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;
}

const GUESS = JSON.stringify({
  token: 'x'.repeat(40),
  csr: 'not a csr',
  siteId: 'guess',
  siteName: 'guess',
  linkName: 'guess',
});

/**
 * A redeem request whose client goes away half way through its body: a stranger's doing,
 * not the issuer's failure. Resolves once the client side has closed.
 */
function abortedRedeem(localAddress: string, port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = tlsFrom(localAddress, port);
    s.on('error', () => {});
    s.once('secureConnect', () => {
      s.write(`${redeemHead(400)}{"token":"`, () => setImmediate(() => s.destroy()));
    });
    s.once('close', () => resolve());
  });
}

describe('strangers on the link port of a router with 1024 fds', { timeout: 180_000 }, () => {
  let sites: TwoSites | undefined;
  let echo: EchoServer | undefined;
  let port = 0;
  let listenerPort = 0;
  const held: Socket[] = [];
  before(
    async () => {
      const cleanup = new Cleanup();
      const a = await RouterProcess.create({
        name: 'site-a',
        settings: { handshakeTimeoutMs: 60_000, backoffMaxMs: 1000 },
        wrapper: ['prlimit', `--nofile=${FD_LIMIT}`, '--'],
      });
      cleanup.add(() => a.dispose());
      const b = await RouterProcess.create({ name: 'site-b', settings: { backoffMaxMs: 1000 } });
      cleanup.add(() => b.dispose());
      const workDir = await mkdtemp(join(tmpdir(), 'skiff-it-work-'));
      cleanup.add(() => rm(workDir, { recursive: true, force: true }));
      sites = { a, b, workDir, dispose: () => cleanup.run() };
      await Promise.all([a.start(), b.start()]);
      await linkSites(a, b, workDir);
      echo = await startEchoServer({ greeting: 'target' });
      listenerPort = await exposeAndListen(a, b, 'echo', echo.port);
      port = a.linkPort;
    },
    { timeout: 60_000 },
  );
  after(
    async () => {
      for (const s of held) s.destroy();
      await echo?.close();
      await sites?.dispose();
      destroyClients();
    },
    { timeout: 30_000 },
  );

  /** The legitimate stream: B's listener, the link, A dials the target; sha256 both ways. */
  async function legitimateStream(what: string): Promise<void> {
    const report = await echoStream(listenerPort, { bytes: 4 * MiB, seed: 7, deadlineMs: 20_000 });
    assert.equal(report.outcome, 'complete', `${what}: ${report.error ?? report.outcome}`);
    assert.deepEqual(report.echoed, report.expected, `${what}: byte-exact`);
  }

  test('redemption guesses from one source are rate-limited (burst 10, then 1/s)', async (t) => {
    const source = '127.0.0.3';
    const answers: number[] = [];
    const t0 = Date.now();
    // Two seconds of guesses, five at a time (under the per-source cap of 10).
    while (Date.now() - t0 < 2_000) {
      const batch = await Promise.all(
        Array.from({ length: 5 }, () =>
          requestFrom(source, port, redeemHead(Buffer.byteLength(GUESS)), GUESS),
        ),
      );
      answers.push(...batch.map((a) => a.status));
    }
    const seconds = (Date.now() - t0) / 1000;
    const answered = answers.filter((s) => s !== 429).length;
    const limited = answers.length - answered;
    t.diagnostic(
      `${answers.length} guesses in ${seconds.toFixed(1)} s: ${answered} answered (${(answered / seconds).toFixed(1)}/s), ${limited} got 429`,
    );
    assert.ok(answered <= 10 + Math.ceil(seconds) + 1, `answered ${answered} guesses`);
    assert.ok(limited > 0, 'some guesses are refused with 429');
    assert.ok(
      answers.slice(0, 10).every((s) => s === 400 || s === 403),
      'the first 10 are answered',
    );
    const status = await sites!.a.status();
    assert.equal(status.linkPort?.redeemsLimited, limited, 'status counts the 429s');
    // Another source is not held back by this one.
    const other = await requestFrom(
      '127.0.0.30',
      port,
      redeemHead(Buffer.byteLength(GUESS)),
      GUESS,
    );
    assert.notEqual(other.status, 429);
  });

  test('oversized redeem bodies are refused with 413, announced or streamed', async () => {
    const announced = await requestFrom('127.0.0.20', port, redeemHead(10 * 1024 * 1024));
    assert.equal(announced.status, 413);
    const chunkedHead = 'POST /v1/redeem HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n';
    const chunk = `${(128 * 1024).toString(16)}\r\n${'x'.repeat(128 * 1024)}\r\n`;
    const streamed = await requestFrom('127.0.0.21', port, chunkedHead, chunk, { end: false });
    assert.equal(streamed.status, 413);
  });

  test('a burst of aborted redemptions logs a bounded number of lines, none at error', async (t) => {
    const a = sites!.a;
    const since = a.mark();
    const sources = Array.from({ length: 10 }, (_, i) => `127.0.1.${i + 1}`);
    // 10 per source: within both the per-source cap and the redeem burst, so all 100 reach
    // the handler and the log throttle alone bounds the lines.
    await Promise.all(
      sources.flatMap((src) => Array.from({ length: 10 }, () => abortedRedeem(src, port))),
    );
    await pollUntil('the router to see every aborted request close', async () => {
      const s = await a.status();
      return (s.linkPort?.unauthenticated ?? 0) === 0;
    });
    // A line logged after those closes: every line about them is written before it.
    await a.cli(['expose', 'marker', '--target', '127.0.0.1:9']);
    await a.waitForEvent(match('address exposed', { address: 'marker' }), { since });
    const about = a.eventsSince(since, (e) => /redemption/.test(e.msg));
    t.diagnostic(`100 aborted redemptions: ${about.length} log lines`);
    assert.equal(about.filter((e) => Number(e.level) >= 50).length, 0, 'none at error level');
    assert.ok(about.length <= 10, `${about.length} lines for 100 aborted redemptions`);
    assert.ok(about.length >= 1, 'aborted redemptions are still logged');
    assert.ok(
      about.every((e) => Number(e.level) === 40),
      'at warn level',
    );
  });

  test(`${FLOOD} idle connections from one source, then from many: capped, and a linked stream still works`, {
    timeout: 90_000,
  }, async (t) => {
    const a = sites!.a;
    const flood = async (sourceOf: (i: number) => string): Promise<Socket[]> => {
      const sockets: Socket[] = [];
      for (let i = 0; i < FLOOD; i += 100) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(100, FLOOD - i) }, (_, j) =>
            idleFrom(sourceOf(i + j), port),
          ),
        );
        sockets.push(...batch);
      }
      held.push(...sockets);
      return sockets;
    };
    /**
     * The refused ones are closed at once, the admitted ones stay open (handshake timeout 60 s).
     * Resolves when `refused` have closed, or after 15 s (a router without caps closes none),
     * with the connections still open.
     */
    const settle = async (sockets: Socket[], refused: number): Promise<Socket[]> => {
      let closed = 0;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 15_000);
        for (const s of sockets) {
          void whenClosed(s).then(() => {
            if (++closed === refused) resolve();
          });
        }
      });
      clearTimeout(timer);
      return sockets.filter((s) => !s.destroyed);
    };

    const one = await flood(() => '127.0.0.2');
    const openOne = await settle(one, FLOOD - PER_SOURCE);
    await legitimateStream(`with ${FLOOD} connections from one source`);
    let status = await a.status();
    t.diagnostic(`one source: ${JSON.stringify(status.linkPort)}`);
    assert.equal(openOne.length, PER_SOURCE, 'one source keeps 10 connections');
    assert.equal(status.linkPort?.unauthenticated, PER_SOURCE);
    assert.equal(status.linkPort?.maxPerSource, PER_SOURCE);
    assert.equal(status.linkPort?.maxUnauthenticated, TOTAL, 'a quarter of the fd limit');
    assert.equal(status.linkPort?.refusedPerSource, FLOOD - PER_SOURCE);

    // 110 sources with 10 each: only the total cap can stop these.
    const many = await flood((i) => `127.0.2.${Math.floor(i / PER_SOURCE) + 1}`);
    const openMany = await settle(many, FLOOD - (TOTAL - PER_SOURCE));
    await legitimateStream(`with ${2 * FLOOD} connections from 111 sources`);
    status = await a.status();
    t.diagnostic(`many sources: ${JSON.stringify(status.linkPort)}`);
    assert.equal(openMany.length, TOTAL - PER_SOURCE);
    assert.equal(status.linkPort?.unauthenticated, TOTAL);
    assert.equal(status.linkPort?.refusedTotal, FLOOD - (TOTAL - PER_SOURCE));
    const warned = a.eventsSince(0, (e) => e.msg.startsWith('link port connection refused'));
    assert.ok(
      warned.length >= 1 && warned.length <= 20,
      `${warned.length} warn lines, rate-limited`,
    );
    const text = await a.cli(['status']);
    assert.match(text.stdout, /link port: 256 unauthenticated connections/);
  });
});
