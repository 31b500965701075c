/**
 * SIGTERM drains a router: its listeners and link port stop accepting, every link sends
 * GOAWAY so peers send new streams elsewhere at once, open streams finish (up to
 * drainTimeoutMs), then what is left is reset and the router exits; a second signal ends
 * the drain at once. Site a has a listener for "svc", served by b (cost 1) and c (cost 5):
 * streams go to b until b drains. Every timing is measured from the SIGTERM and reported.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { FAST_SETTINGS, useNetwork } from '../helpers/network.js';
import { awaitLinkUp, waitForAddress } from '../helpers/pair.js';
import { match } from '../helpers/router.js';
import {
  connect,
  type EchoServer,
  KiB,
  MiB,
  receiveAll,
  sendPattern,
  startEchoServer,
  startServer,
  type TcpServer,
} from '../helpers/tcp.js';
import { echoStream, type StreamReport, whoAnswers } from '../helpers/traffic.js';
import { pollUntil, withTimeout } from '../helpers/wait.js';

const DRAIN_MS = 3_000;
/** 64 KiB then a 100 ms pause: about 0.65 MiB/s, so a stream's length sets how long it lasts. */
const PACE = { every: 64 * KiB, pauseMs: 100 };

describe('drain on SIGTERM', { timeout: 180_000 }, () => {
  let port = 0;
  const net = useNetwork(['a', 'b', 'c'], {
    settings: { ...FAST_SETTINGS, drainTimeoutMs: DRAIN_MS },
    links: [
      ['a', 'b', 1],
      ['a', 'c', 5],
    ],
    setup: async (n) => {
      for (const site of ['b', 'c']) {
        const echo: EchoServer = n.track(await startEchoServer({ greeting: site }));
        await n.expose(site, 'svc', echo.port);
      }
      await waitForAddress(n.site('a'), 'svc', 'b');
      await waitForAddress(n.site('a'), 'svc', 'c');
      port = await n.listen('a', 'svc');
    },
  });

  /** A paced, hashed echo stream of `bytes` via a's listener that lands on b. */
  async function streamOnB(
    bytes: number,
  ): Promise<{ report: Promise<StreamReport>; site: string }> {
    let landed!: (site: string) => void;
    const site = new Promise<string>((resolve) => {
      landed = resolve;
    });
    const report = echoStream(port, {
      bytes,
      seed: bytes,
      pace: PACE,
      deadlineMs: 60_000,
      onSite: landed,
    });
    return { report, site: await site };
  }

  /** Restarts b after a drain test and waits until a routes to it again. */
  async function restartB(): Promise<void> {
    const a = net().site('a');
    const b = net().site('b');
    if (b.running) await b.kill(); // an earlier test failed half way
    const sinceA = a.mark();
    const sinceB = b.mark();
    await b.start();
    await awaitLinkUp(b, a, 'b', { sinceIssuer: sinceB, sinceDialler: sinceA });
    await waitForAddress(a, 'svc', 'b');
  }

  test('a stream open through the draining router completes byte-exact; new streams go to c at once; exit follows the stream', async (t) => {
    const a = net().site('a');
    const b = net().site('b');
    const { report, site } = await streamOnB(MiB); // ~1.6 s at this pace
    assert.equal(site, 'b', 'streams go to b (cost 1) while it runs');
    const sinceA = a.mark();
    const sinceB = b.mark();
    const t0 = performance.now();
    const exited = b.stop(30_000);
    await b.waitForEvent(match('router draining'), { since: sinceB });
    const goAway = await a.waitForEvent(match('peer sent GOAWAY', { link: 'b' }), {
      since: sinceA,
    });
    const goAwayMs = a.receivedTime(goAway) - t0;
    const t1 = performance.now();
    assert.equal(await whoAnswers(port), 'c', 'a new stream during the drain goes to c');
    const newStreamMs = performance.now() - t1;
    const r = await report;
    const streamEndMs = performance.now() - t0;
    assert.equal(r.outcome, 'complete', r.error);
    assert.equal(r.site, 'b');
    assert.deepEqual(r.echoed, r.expected, 'byte-exact');
    const { code } = await exited;
    const exitMs = performance.now() - t0;
    t.diagnostic(
      `SIGTERM -> GOAWAY seen at a ${goAwayMs.toFixed(0)} ms; a new stream answered by c in ${newStreamMs.toFixed(0)} ms; the open stream ended ${streamEndMs.toFixed(0)} ms after SIGTERM, the router exited at ${exitMs.toFixed(0)} ms`,
    );
    assert.equal(code, 0, 'a drained router exits 0');
    assert.ok(exitMs >= streamEndMs - 200, 'the router waited for the stream');
    assert.ok(exitMs - streamEndMs < 2_000, 'and exited soon after it ended');
    assert.ok(exitMs < DRAIN_MS + 2_000);
  });

  test('with no streams open, SIGTERM exits at once', async (t) => {
    await restartB();
    const t0 = performance.now();
    const { code } = await net().site('b').stop(10_000);
    const ms = performance.now() - t0;
    t.diagnostic(`SIGTERM -> exit with no streams: ${ms.toFixed(0)} ms`);
    assert.equal(code, 0);
    assert.ok(ms < 2_000, `${ms} ms`);
  });

  test('a stream that outlasts drainTimeoutMs is reset when it expires', async (t) => {
    await restartB();
    const b = net().site('b');
    const { report, site } = await streamOnB(16 * MiB); // ~25 s at this pace
    assert.equal(site, 'b');
    const t0 = performance.now();
    const { code } = await b.stop(30_000);
    const exitMs = performance.now() - t0;
    const r = await report;
    t.diagnostic(
      `SIGTERM -> exit with a stream outlasting drainTimeoutMs ${DRAIN_MS}: ${exitMs.toFixed(0)} ms; the stream: ${r.outcome} (${r.error ?? ''}) after ${r.echoed.bytes} bytes`,
    );
    assert.equal(code, 0);
    assert.ok(exitMs >= DRAIN_MS - 100 && exitMs < DRAIN_MS + 2_000, `${exitMs} ms`);
    assert.equal(r.outcome, 'reset', 'the client sees a reset, never a clean short end');
  });

  test('a second SIGTERM ends the drain at once', async (t) => {
    await restartB();
    const b = net().site('b');
    const { report, site } = await streamOnB(16 * MiB);
    assert.equal(site, 'b');
    const since = b.mark();
    const exited = b.stop(30_000);
    await b.waitForEvent(match('router draining'), { since });
    const t1 = performance.now();
    process.kill(b.pid!, 'SIGTERM');
    const { code } = await exited;
    const ms = performance.now() - t1;
    const r = await report;
    t.diagnostic(`second SIGTERM -> exit: ${ms.toFixed(0)} ms; the stream: ${r.outcome}`);
    assert.equal(code, 0);
    assert.ok(ms < 1_500, `${ms} ms`);
    assert.equal(r.outcome, 'reset');
  });
});

/**
 * A pipe is done once both ends have ended, but its last bytes may still wait in the router
 * for a slow link, or in its kernel send buffer. Site b's target answers a client of a's
 * listener while a is stopped (SIGSTOP); a stopping b must neither close the link under
 * bytes it still holds nor exit before a has read up to b's close: a process that exits
 * with unread bytes from its peer has its sockets reset, and the kernel drops what they
 * still had to send. Window and high-water mark are raised so that nothing but the stopped
 * reader holds the bytes back.
 */
describe('drain delivers the last bytes to a slow peer', { timeout: 120_000 }, () => {
  const kernelBuffers =
    Number(readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').split(/\s+/)[2]) +
    Number(readFileSync('/proc/sys/net/ipv4/tcp_rmem', 'utf8').split(/\s+/)[2]);
  const most = 2 * kernelBuffers;
  let port = 0;
  let target!: TcpServer;
  /**
   * Who waits for which request line, called with the target socket once the line and its
   * FIN reached it. The upstream socket is found by what it carried, not by counting
   * accepted connections: a stray connection (another test process's client finding this
   * port) once made the count name the wrong socket, and the test waited for its end.
   */
  const requests = new Map<string, (socket: Socket) => void>();
  let requestCount = 0;
  const net = useNetwork(['a', 'b'], {
    settings: {
      ...FAST_SETTINGS,
      idleTimeoutMs: 60_000,
      drainTimeoutMs: 30_000,
      streamWindow: 2 * most,
      linkHighWater: 4 * most,
    },
    links: [['a', 'b', 1]],
    setup: async (n) => {
      target = n.track(
        await startServer((socket) => {
          const chunks: Buffer[] = [];
          socket.on('data', (chunk: Buffer) => chunks.push(chunk));
          socket.once('end', () => requests.get(Buffer.concat(chunks).toString())?.(socket));
        }),
      );
      await n.expose('b', 'bulk', target.port);
      await waitForAddress(n.site('a'), 'bulk', 'b');
      port = await n.listen('a', 'bulk');
    },
  });

  /**
   * A reply of `bytes` from b's target to a client at a, sent while a is stopped; b gets
   * SIGTERM once its pipe is done, and a is resumed when b has logged `resumeAfter` and has
   * not exited for `holdMs` more. Returns the client's transfer, what was sent, and b's exit.
   */
  async function replyToStoppedReader(
    t: { after(fn: () => void): void },
    bytes: number,
    resumeAfter: string,
    holdMs: number,
  ) {
    const a = net().site('a');
    const b = net().site('b');
    const request = `send ${++requestCount}\n`;
    const arrived = new Promise<Socket>((resolve) => requests.set(request, resolve));
    const client = await connect(port);
    client.pause();
    client.end(request); // b's pipe is done once this FIN and the reply's have passed it
    const upstream = await withTimeout(arrived, 15_000, 'the request and its FIN at the target');
    process.kill(a.pid!, 'SIGSTOP');
    let resumed = false;
    const resume = () => {
      if (!resumed) process.kill(a.pid!, 'SIGCONT');
      resumed = true;
    };
    t.after(resume);
    const sent = await sendPattern(upstream, bytes, bytes);
    await pollUntil('b to read the whole reply (its pipe to the target done)', async () => {
      const connector = (await b.status()).connectors.find((c) => c.address === 'bulk');
      return connector?.activeStreams === 0;
    });
    const since = b.mark();
    const exited = b.stop(60_000);
    await b.waitForEvent(match(resumeAfter), { since });
    const early = await Promise.race([exited.then(() => true), delay(holdMs).then(() => false)]);
    resume();
    return { early, received: receiveAll(client), sent, exited };
  }

  test('the last bytes reach the client before the link closes', async (t) => {
    const { early, received, sent, exited } = await replyToStoppedReader(
      t,
      most,
      'router draining',
      2_000,
    );
    assert.equal(early, false, 'b exited while reply bytes were still queued for the link');
    assert.deepEqual(
      await withTimeout(received, 30_000, 'the reply at the client'),
      sent,
      'byte-exact',
    );
    assert.equal((await exited).code, 0);
    t.diagnostic(
      `${(most / MiB).toFixed(0)} MiB reply drained through a stopped-then-resumed reader`,
    );
  });

  test('the router exits only once the peer has read up to its close', async (t) => {
    if (!net().site('b').running) await net().site('b').start(); // stopped by the test before
    await waitForAddress(net().site('a'), 'bulk', 'b');
    const { early, received, sent, exited } = await replyToStoppedReader(
      t,
      256 * KiB, // fits the kernel buffers: b has drained while a still sleeps
      'router drained',
      1_000,
    );
    assert.equal(early, false, 'b exited before a acknowledged the close');
    assert.deepEqual(
      await withTimeout(received, 30_000, 'the reply at the client'),
      sent,
      'byte-exact',
    );
    assert.equal((await exited).code, 0);
  });
});
