/**
 * Proves flow control bounds router memory: with a 256 KiB stream window on both sites, a
 * target offers 1 GiB to a client that stops reading. The target's writes must block (the
 * sender pauses), both routers' measured `buffered.peak` must stay within the documented
 * per-stream bound (docs/protocol.md: two windows plus one socket read), and once the client
 * reads again the full 1 GiB arrives byte-exact.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SiteStatus } from '../../src/admin/api.js';
import { exposeAndListen, useLinkedSites } from '../helpers/pair.js';
import {
  connect,
  GiB,
  KiB,
  MiB,
  newProgress,
  receiveAll,
  startSinkSourceServer,
} from '../helpers/tcp.js';
import { pollUntil, withTimeout } from '../helpers/wait.js';

const STREAM_WINDOW = 256 * KiB;
const MAX_FRAME = 64 * KiB;
/**
 * The bound docs/protocol.md states for one stream at one router: a window of bytes sent
 * within credit whose socket write has not called back yet, a window of bytes queued
 * within fresh credit, and one socket read (up to 64 KiB, the size Node reads TCP in)
 * taken before the window closed. The receiving router holds at most one window.
 */
const READ_SLACK = 64 * KiB;
const BOUND = 2 * STREAM_WINDOW + READ_SLACK;
const OFFERED = GiB;

describe('slow reader: bounded router memory with a 1 GiB offer', { timeout: 240_000 }, () => {
  const { sites, servers } = useLinkedSites({
    settings: { streamWindow: STREAM_WINDOW, maxFrameSize: MAX_FRAME, backoffMaxMs: 1000 },
  });

  test('a paused client makes the target block; buffered.peak <= 2 windows + one read at both routers; then 1 GiB arrives exact', {
    timeout: 180_000,
  }, async (t) => {
    const { a, b } = sites();
    const progress = newProgress();
    const server = await startSinkSourceServer(OFFERED, 77, progress);
    servers.push(server);
    const port = await exposeAndListen(b, a, 'firehose', server.port);

    const client = await connect(port);
    client.pause(); // the slow reader: reads nothing until told

    // Await the stall: the target's write() returned false and neither its byte count nor
    // either router's buffered.current moves across three consecutive status rounds.
    const peaks = { a: 0, b: 0 };
    const record = (sa: SiteStatus, sb: SiteStatus): void => {
      peaks.a = Math.max(peaks.a, sa.buffered.peak);
      peaks.b = Math.max(peaks.b, sb.buffered.peak);
    };
    let stable = 0;
    let last = '';
    const stalled = await pollUntil(
      'the target to stay blocked with both routers holding steady',
      async () => {
        const [sa, sb] = await Promise.all([a.status(), b.status()]);
        record(sa, sb);
        const snapshot = `${progress.sent}/${sa.buffered.current}/${sb.buffered.current}`;
        stable = progress.blocked && progress.sent > 0 && snapshot === last ? stable + 1 : 0;
        last = snapshot;
        return stable >= 3 && { sent: progress.sent, a: sa.buffered, b: sb.buffered };
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    t.diagnostic(
      `stalled after the target wrote ${(stalled.sent / MiB).toFixed(2)} MiB of ${OFFERED / MiB} MiB; ` +
        `buffered now A=${stalled.a.current} B=${stalled.b.current}; peaks A=${peaks.a} B=${peaks.b} (bound ${BOUND})`,
    );
    assert.ok(stalled.sent < 64 * MiB, `the target paused early (${stalled.sent} bytes written)`);
    assert.ok(peaks.a <= BOUND, `router A buffered.peak ${peaks.a} > ${BOUND}`);
    assert.ok(peaks.b <= BOUND, `router B buffered.peak ${peaks.b} > ${BOUND}`);
    assert.ok(
      peaks.a + peaks.b > 0,
      'the routers measured the bytes they held (peaks are not all zero)',
    );

    // Resume reading: the whole offer arrives, byte-exact.
    const started = performance.now();
    const received = await withTimeout(
      receiveAll(client),
      150_000,
      '1 GiB to arrive after resuming',
    );
    const ms = performance.now() - started;
    client.end(); // nothing to send; lets the connection close
    const session = server.sessions[0]!;
    const sent = await session.sent;
    assert.equal(received.bytes, OFFERED);
    assert.deepEqual(received, sent, 'the client received exactly what the target sent');

    // The peak is measured by each router since it started, so this covers the resumed transfer too.
    const [sa, sb] = await Promise.all([a.status(), b.status()]);
    record(sa, sb);
    t.diagnostic(
      `after completion: buffered.peak A=${sa.buffered.peak} B=${sb.buffered.peak} (bound ${BOUND}); ` +
        `1 GiB drained in ${(ms / 1000).toFixed(1)} s (${(OFFERED / MiB / (ms / 1000)).toFixed(0)} MiB/s)`,
    );
    assert.ok(sa.buffered.peak <= BOUND, `router A buffered.peak ${sa.buffered.peak} > ${BOUND}`);
    assert.ok(sb.buffered.peak <= BOUND, `router B buffered.peak ${sb.buffered.peak} > ${BOUND}`);
  });
});
