/**
 * Proves bytes arrive exactly through two routers under load: 256 MiB each way through one
 * stream at the same time, and 200 concurrent streams with distinct payloads, with SHA-256
 * computed independently at both ends of every stream. Reports throughput (and, for
 * comparison, the same single-stream transfer over direct loopback in the same run).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exposeAndListen, useLinkedSites } from '../helpers/pair.js';
import {
  connect,
  KiB,
  MiB,
  receiveAll,
  sendPattern,
  startEchoServer,
  startSinkSourceServer,
  type Transfer,
} from '../helpers/tcp.js';
import { exchange } from '../helpers/traffic.js';

const BULK = 256 * MiB;
const STREAMS = 200;
const PER_STREAM = 256 * KiB;

function mibPerSecond(bytes: number, ms: number): string {
  return (bytes / MiB / (ms / 1000)).toFixed(1);
}

describe('bulk transfer through two routers', { timeout: 300_000 }, () => {
  const { sites, servers } = useLinkedSites();

  test('256 MiB each way through one stream at the same time arrive byte-exact (sha256 both ends)', {
    timeout: 180_000,
  }, async (t) => {
    const { a, b } = sites();
    const target = await startSinkSourceServer(BULK, 2);
    servers.push(target);
    const port = await exposeAndListen(b, a, 'bulk', target.port);

    const viaRouters = await exchange(port, target, BULK, 1);
    assert.equal(target.sessions.length, 1, 'one stream, one target connection');
    assert.deepEqual(
      viaRouters.serverReceived,
      viaRouters.sent,
      'A->B: target received what the client sent',
    );
    assert.deepEqual(
      viaRouters.received,
      viaRouters.serverSent,
      'B->A: client received what the target sent',
    );
    assert.equal(viaRouters.sent.bytes, BULK);
    assert.equal(viaRouters.received.bytes, BULK);

    // The same transfer straight to the target over loopback, same run, for the ratio.
    const direct = await exchange(target.port, target, BULK, 1);
    assert.deepEqual(direct.serverReceived, direct.sent);
    assert.deepEqual(direct.received, direct.serverSent);

    const routed = mibPerSecond(BULK, viaRouters.ms);
    const loopback = mibPerSecond(BULK, direct.ms);
    t.diagnostic(
      `256 MiB each way, one stream, through two routers: ${(viaRouters.ms / 1000).toFixed(2)} s, ` +
        `${routed} MiB/s per direction (${mibPerSecond(2 * BULK, viaRouters.ms)} MiB/s total)`,
    );
    t.diagnostic(
      `same transfer over direct loopback: ${(direct.ms / 1000).toFixed(2)} s, ${loopback} MiB/s per direction; ` +
        `ratio routed/direct = ${(direct.ms / viaRouters.ms).toFixed(2)}`,
    );
  });

  test('200 concurrent streams with distinct payloads each arrive exact, both ways (sha256 both ends)', {
    timeout: 120_000,
  }, async (t) => {
    const { a, b } = sites();
    const echo = await startEchoServer();
    servers.push(echo);
    const port = await exposeAndListen(b, a, 'many', echo.port);

    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: STREAMS }, async (_, i) => {
        const socket = await connect(port);
        const [sent, echoed] = await Promise.all([
          sendPattern(socket, PER_STREAM, 1000 + i * 37),
          receiveAll(socket),
        ]);
        return { sent, echoed };
      }),
    );
    const ms = performance.now() - started;

    const sentDigests = new Set<string>();
    for (const [i, { sent, echoed }] of results.entries()) {
      assert.equal(sent.bytes, PER_STREAM);
      assert.deepEqual(echoed, sent, `stream ${i}: the echo differs from what was sent`);
      sentDigests.add(sent.sha256);
    }
    assert.equal(sentDigests.size, STREAMS, 'payloads are distinct');

    // The target's own digests: every stream arrived whole at B, none mixed with another.
    assert.equal(echo.received.length, STREAMS, 'the target saw every stream end');
    const sorted = (list: Transfer[]) => list.map((x) => `${x.sha256}:${x.bytes}`).sort();
    assert.deepEqual(sorted(echo.received), sorted(results.map((r) => r.sent)));

    t.diagnostic(
      `${STREAMS} concurrent streams x ${PER_STREAM / KiB} KiB each way: ${(ms / 1000).toFixed(2)} s, ` +
        `${mibPerSecond(2 * STREAMS * PER_STREAM, ms)} MiB/s total`,
    );
  });
});
