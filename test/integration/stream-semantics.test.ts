/**
 * Proves the TCP semantics a stream keeps end to end through two routers:
 * - half-close: a client that ends its write side still reads the whole reply, and a target
 *   that ends first still receives everything the client sends afterwards;
 * - an abort (RST) at the client resets the target's side, and an abort at the target resets
 *   the client's side (DESIGN.md: "an abort on either end resets the other end");
 * - a connector whose target refuses the connection gives the client a clean close.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { exposeAndListen, type LinkedSites, useLinkedSites } from '../helpers/pair.js';
import { pickPort } from '../helpers/ports.js';
import {
  connect,
  KiB,
  MiB,
  outcome,
  patternDigest,
  readAll,
  receiveAll,
  sendPattern,
  startEchoServer,
  startServer,
} from '../helpers/tcp.js';
import { withTimeout } from '../helpers/wait.js';

describe('stream semantics through two routers', { timeout: 180_000 }, () => {
  const { sites, servers } = useLinkedSites();

  test('half-close: the client ends its writes, the target reads to EOF then replies, the client gets all of it', {
    timeout: 30_000,
  }, async () => {
    const { a, b } = sites();
    const REPLY = 512 * KiB;
    // Replies only after EOF: the digest of what it received, a newline, then REPLY bytes.
    const target = await startServer((socket) => {
      const hash = createHash('sha256');
      socket.on('data', (chunk: Buffer) => hash.update(chunk));
      socket.once('end', () => {
        socket.write(`${hash.digest('hex')}\n`);
        void sendPattern(socket, REPLY, 9).catch(() => {});
      });
    });
    servers.push(target);
    const port = await exposeAndListen(b, a, 'half', target.port);

    const client = await connect(port);
    const reply = readAll(client);
    const sent = await sendPattern(client, MiB, 8); // ends the write side when done
    const body = await withTimeout(reply, 20_000, 'the reply after half-close');

    const newline = body.indexOf(0x0a);
    assert.ok(newline > 0, 'the reply starts with a digest line');
    assert.equal(
      body.subarray(0, newline).toString(),
      sent.sha256,
      'the target read exactly what was sent, to EOF',
    );
    const rest = body.subarray(newline + 1);
    assert.equal(rest.length, REPLY);
    assert.equal(createHash('sha256').update(rest).digest('hex'), patternDigest(REPLY, 9).sha256);
  });

  test('half-close the other way: the target ends first, the client still sends and the target gets it all', {
    timeout: 30_000,
  }, async () => {
    const { a, b } = sites();
    const results: Array<Promise<{ bytes: number; sha256: string }>> = [];
    const target = await startServer((socket) => {
      socket.end('greeting\n'); // the target's write side is done at once
      const received = receiveAll(socket);
      received.catch(() => {});
      results.push(received);
    });
    servers.push(target);
    const port = await exposeAndListen(b, a, 'half-rev', target.port);

    const client = await connect(port);
    const greeting = await readAll(client); // EOF from the target while our side is still open
    assert.equal(greeting.toString(), 'greeting\n');
    assert.equal(client.writable, true, 'the client can still write after the target ended');
    const sent = await sendPattern(client, 2 * MiB, 10);
    await target.connection(1);
    const received = await withTimeout(results[0]!, 20_000, 'the target to read to EOF');
    assert.deepEqual(received, sent);
  });

  test('client abort (RST) resets the target side', { timeout: 30_000 }, async () => {
    const { a, b } = sites();
    // allowHalfOpen false: if the router wrongly sends a FIN, the target sees 'end' and the
    // assertion below fails at once instead of waiting on a half-open socket.
    // The target reads everything the client sent before the client aborts: libuv reports
    // an RST that arrives while received bytes are still unread as a plain EOF (POLLHUP
    // after a partial read), which would hide the reset this test looks for.
    let allData!: () => void;
    const gotData = new Promise<void>((resolve) => {
      allData = resolve;
    });
    const target = await startServer(
      (socket) => {
        let received = 0;
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received === 32 * KiB) allData();
        });
      },
      { allowHalfOpen: false },
    );
    servers.push(target);
    const port = await exposeAndListen(b, a, 'abort', target.port);

    const client = await connect(port);
    client.write(Buffer.alloc(32 * KiB, 1));
    const targetSide = await withTimeout(target.connection(1), 15_000, 'the target connection');
    const seen = outcome(targetSide);
    await withTimeout(gotData, 15_000, 'the 32 KiB at the target');
    client.resetAndDestroy();

    const result = await withTimeout(seen, 15_000, 'the target side to be reset');
    assert.ok(
      result.error?.code === 'ECONNRESET' || !result.sawEnd,
      `target should see a reset (ECONNRESET or close without end), saw end=${result.sawEnd} error=${result.error?.code}`,
    );

    // The link survives an aborted stream: a new stream works.
    await assertEchoWorks(sites(), 'after-abort');
  });

  test('target abort (RST) resets the client side', { timeout: 30_000 }, async () => {
    const { a, b } = sites();
    const target = await startServer(
      (socket) => {
        socket.once('data', () => socket.resetAndDestroy());
      },
      { allowHalfOpen: false },
    );
    servers.push(target);
    const port = await exposeAndListen(b, a, 'target-abort', target.port);

    const client = await connect(port, { allowHalfOpen: false });
    const seen = outcome(client);
    client.write('hello');
    const result = await withTimeout(seen, 15_000, 'the client side to be reset');
    assert.ok(
      result.error?.code === 'ECONNRESET' || !result.sawEnd,
      `client should see a reset (ECONNRESET or close without end), saw end=${result.sawEnd} error=${result.error?.code}`,
    );
  });

  test('a refused target (nothing listening at the connector target) is a clean close at the client', {
    timeout: 30_000,
  }, async () => {
    const { a, b } = sites();
    const closedPort = await pickPort(); // nothing listens here
    const port = await exposeAndListen(b, a, 'refused', closedPort);

    // The client sends nothing: unread bytes at the router would turn its close into an RST.
    const client = await connect(port, { allowHalfOpen: false });
    const result = await withTimeout(
      outcome(client, { untilClose: true }),
      20_000,
      'the client to be closed',
    );
    assert.equal(result.error, undefined, `no error at the client, got ${result.error?.code}`);
    assert.equal(result.sawEnd, true, 'the client saw a clean end');
    assert.equal(result.bytes, 0, 'no data');
  });
});

/** A fresh echo service exposed at B and used through A: the link still carries new streams. */
async function assertEchoWorks(sites: LinkedSites, address: string): Promise<void> {
  const echo = await startEchoServer();
  try {
    const port = await exposeAndListen(sites.b, sites.a, address, echo.port);
    const client: Socket = await connect(port);
    const [sent, back] = await Promise.all([sendPattern(client, 64 * KiB, 3), receiveAll(client)]);
    assert.deepEqual(back, sent);
  } finally {
    await echo.close();
  }
}
