/**
 * Proves a reset stays a reset across the routers in the two corners where Node's sockets
 * hide one (found while explaining the SIGKILL test's clean short end):
 *
 * - libuv reports a RST that finds unread bytes in a socket's receive queue as EOF. A
 *   router pauses a socket whenever its stream has no credit, so bytes wait there often: a
 *   target (or client) that resets then looked like one that finished, and the router
 *   passed on a FIN: the other end saw a clean, short end.
 * - libuv cannot reset a socket while its shutdown is pending (end() called, the FIN not
 *   yet out: until the next turn, or longer behind queued bytes): resetAndDestroy fails
 *   with EINVAL and Node drops the handle without closing it. A stream reset right after
 *   the peer's FIN (FIN and RESET in one message; or the link lost just after the FIN, as
 *   when the connector's router dies) left the socket open for ever, reading and
 *   discarding what its end sent: a reply or an upload vanished without an error, and the
 *   router leaked the descriptor.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeFin, encodeFrame, encodeOpen, encodeReset } from '../../src/protocol/encode.js';
import { FrameType, ResetCode } from '../../src/protocol/frame.js';
import { HostilePeer, redeemCredential } from '../helpers/hostile-peer.js';
import { expose, exposeAndListen, linkSites, SITE_A, SITE_B } from '../helpers/pair.js';
import { RouterProcess } from '../helpers/router.js';
import { observeEnd } from '../helpers/socket-end.js';
import { connect, destroyClients, MiB, startServer, type TcpServer } from '../helpers/tcp.js';
import { Cleanup, pollUntil, withTimeout } from '../helpers/wait.js';

/** Resolves once `socket`'s unsent bytes stop shrinking: its peer stopped reading. */
async function stalled(what: string, socket: Socket): Promise<void> {
  let last = -1;
  let same = 0;
  await pollUntil(
    `${what} to stop draining`,
    async () => {
      const now = socket.writableLength;
      same = now === last ? same + 1 : 0;
      last = now;
      return now > 0 && same >= 3;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

interface Pair {
  /** The listeners' router, debug-logged so a test can see a stream's state. */
  a(): RouterProcess;
  /** The connectors' router. */
  b(): RouterProcess;
  /** A target at B with `onConnection`, exposed as `address`, with a listener at A: its port. */
  service(address: string, onConnection: (socket: Socket) => void): Promise<number>;
}

/** Registers before/after hooks for two linked routers; `settingsA` for the listeners' router. */
function usePair(settingsA: Record<string, number> = {}): Pair {
  const cleanup = new Cleanup();
  let a: RouterProcess | undefined;
  let b: RouterProcess | undefined;
  before(
    async () => {
      cleanup.add(destroyClients);
      a = await RouterProcess.started({
        name: SITE_A,
        settings: { backoffMaxMs: 500, ...settingsA },
        env: { SKIFF_LOG_LEVEL: 'debug' },
      });
      cleanup.add(() => a!.dispose());
      b = await RouterProcess.started({ name: SITE_B, settings: { backoffMaxMs: 500 } });
      cleanup.add(() => b!.dispose());
      const workDir = await mkdtemp(join(tmpdir(), 'skiff-it-resets-'));
      cleanup.add(() => rm(workDir, { recursive: true, force: true }));
      await linkSites(a, b, workDir);
    },
    { timeout: 60_000 },
  );
  after(() => cleanup.run(), { timeout: 30_000 });
  return {
    a: () => a!,
    b: () => b!,
    async service(address, onConnection) {
      const server: TcpServer = await startServer(onConnection);
      cleanup.add(() => server.close());
      return exposeAndListen(b!, a!, address, server.port);
    },
  };
}

describe('a reset hidden as EOF by libuv stays a reset across the routers', {
  timeout: 120_000,
}, () => {
  const { service } = usePair();

  test("a target that resets while its bytes wait at the connector's router resets the client", async () => {
    let target: Socket | undefined;
    const port = await service('reset-reply', (socket) => {
      target = socket;
      socket.write(Buffer.alloc(64 * MiB)); // far beyond the stream window: it stalls
    });
    const client = await connect(port);
    client.pause(); // nothing is read: the connector's router stops reading the target
    await pollUntil('the target connection', async () => target !== undefined);
    await stalled('the target', target!);
    target!.resetAndDestroy();
    const end = observeEnd(client);
    client.resume();
    const seen = await withTimeout(end, 15_000, 'the client to see the end');
    assert.ok(
      seen.reset !== undefined && !seen.fin,
      `the client sees a reset: ${JSON.stringify(seen)}`,
    );
  });

  test("a client that resets while its bytes wait at the listener's router resets the target", async () => {
    let target: Socket | undefined;
    const port = await service('reset-request', (socket) => {
      target = socket;
      socket.pause(); // the target reads nothing for now
    });
    const client = await connect(port);
    client.write(Buffer.alloc(64 * MiB));
    await pollUntil('the target connection', async () => target !== undefined);
    await stalled('the client', client);
    client.resetAndDestroy();
    const end = observeEnd(target!);
    target!.resume();
    const seen = await withTimeout(end, 15_000, 'the target to see the end');
    assert.ok(
      seen.reset !== undefined && !seen.fin,
      `the target sees a reset: ${JSON.stringify(seen)}`,
    );
  });
});

describe('a reset right behind a FIN', { timeout: 60_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 30_000 });

  test('FIN and RESET in one message: the target hears of the reset, and the router keeps no socket', async () => {
    const a = await RouterProcess.started({ name: SITE_A });
    cleanup.add(() => a.dispose());
    const workDir = await mkdtemp(join(tmpdir(), 'skiff-it-resets-'));
    cleanup.add(() => rm(workDir, { recursive: true, force: true }));
    // The target reads the request, then answers it: the router must tell it that nobody
    // waits for the answer (a reset), not leave it hanging.
    let connected!: (outcome: Promise<{ ended: boolean; error: string | undefined }>) => void;
    const outcome = new Promise<Promise<{ ended: boolean; error: string | undefined }>>(
      (resolve) => {
        connected = resolve;
      },
    );
    const server = await startServer((socket) => {
      connected(
        new Promise((resolve) => {
          const seen = { ended: false, error: undefined as string | undefined };
          socket.on('error', (err: NodeJS.ErrnoException) => {
            seen.error ??= err.code ?? err.message;
          });
          socket.once('end', () => {
            seen.ended = true;
            // Answer until the router says nobody listens (up to 64 MiB: more than the
            // socket buffers hold, so a router that swallows it would let it all through).
            void (async () => {
              for (let sent = 0; sent < 64 * MiB && seen.error === undefined; sent += MiB) {
                await new Promise<void>((done) =>
                  socket.write(Buffer.alloc(MiB), (err) => {
                    if (err) seen.error ??= (err as NodeJS.ErrnoException).code ?? err.message;
                    done();
                  }),
                );
              }
              socket.destroy();
            })();
          });
          socket.once('close', () => resolve(seen));
          socket.resume();
        }),
      );
    });
    cleanup.add(() => server.close());
    await expose(a, 'sink', server.port);

    // A peer with a real credential opens a stream to the connector, then sends DATA, FIN
    // and RESET in one message: the FIN ends the target socket's write side (its shutdown
    // is pending until the next turn) and the RESET must then reset that socket.
    const cred = await redeemCredential(a, workDir, { siteName: 'peer' });
    const peer = await HostilePeer.dial(cred);
    cleanup.add(() => peer.close());
    await peer.hello({}, cred.identity);
    const fdsBefore = openFds(a.pid!);
    await peer.send(encodeOpen(1, { address: 'sink', window: MiB }));
    await peer.waitFor(FrameType.OPEN_OK, (f) => f.streamId === 1);
    await peer.send(
      encodeFrame(FrameType.DATA, 1, Buffer.from('request')),
      encodeFin(1),
      encodeReset(1, ResetCode.ABORTED, 'the client went away'),
    );
    const seen = await withTimeout(
      outcome.then((p) => p),
      10_000,
      'the target to hear that the stream was reset',
    );
    assert.ok(seen.error !== undefined, `the target sees a reset: ${JSON.stringify(seen)}`);
    await pollUntil(
      `router A to close the target socket (${fdsBefore} fds before)`,
      async () => openFds(a.pid!) <= fdsBefore,
    );
  });
});
