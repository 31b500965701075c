/**
 * Proves one listener takes 20,000 concurrent client connections: each is served (its bytes
 * echoed exactly through both routers) or, past the link's stream limit (maxStreamsPerLink,
 * 16,384 by default), refused cleanly (a FIN and nothing else); none fails otherwise. The
 * routers' RSS is measured before, with all 20,000 open, and after they closed (printed;
 * asserted back within SLACK_MIB of the start). A refused client closes at once, as a
 * client does on an EOF, so what stays open is the 16,384 served ones: each process (this one, the routers,
 * the target) runs with its soft fd limit raised to the hard one (prlimit), which must
 * hold them (20,000 on these machines, whose root lacks CAP_SYS_RESOURCE to go higher).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exposeAndListen, linkSites, SITE_A, SITE_B } from '../helpers/pair.js';
import { match, RouterProcess } from '../helpers/router.js';
import { TargetProcess } from '../helpers/target.js';
import { Cleanup, pollUntil, withTimeout } from '../helpers/wait.js';

const CONNECTIONS = Number(process.env.SKIFF_CONNECTIONS ?? 20_000);
const AT_ONCE = 500;
/** The hard limit on open files: what prlimit may raise the soft one to without privileges. */
const NOFILE = Number(
  execFileSync('prlimit', ['--nofile', '--output=HARD', '--noheadings'], {
    encoding: 'utf8',
  }).trim(),
);
const LIMIT = ['prlimit', `--nofile=${NOFILE}:${NOFILE}`];
const MAX_STREAMS = 16_384; // maxStreamsPerLink's default
/**
 * How far above its pre-connection RSS a router may stay once every connection closed: glibc
 * keeps up to MALLOC_TRIM_THRESHOLD_ (32 MiB, src/runtime/tuned-runtime.ts) of freed heap.
 */
const SLACK_MIB = 40;

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

type Fate = 'served' | 'refused' | 'failed';

/** Connects, sends `E` and 8 bytes, and waits for them back (served) or a bare FIN (refused). */
function openOne(port: number, n: number): Promise<{ socket: Socket; fate: Fate }> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const hello = Buffer.alloc(8);
    hello.writeDoubleBE(n);
    let got = Buffer.alloc(0);
    const settle = (fate: Fate): void => {
      socket.removeAllListeners('data');
      socket.removeAllListeners('end');
      resolve({ socket, fate });
    };
    socket.on('error', () => settle('failed'));
    socket.once('connect', () => socket.write(Buffer.concat([Buffer.from('E\n'), hello])));
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 8) settle(got.subarray(0, 8).equals(hello) ? 'served' : 'failed');
    });
    socket.once('end', () => {
      socket.end();
      settle(got.length === 0 ? 'refused' : 'failed');
    });
  });
}

describe(`${CONNECTIONS} concurrent connections through one listener`, { timeout: 300_000 }, () => {
  const cleanup = new Cleanup();
  let a: RouterProcess;
  let b: RouterProcess;
  let port = 0;

  before(
    async () => {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${NOFILE}:${NOFILE}`]);
      const workDir = await mkdtemp(join(tmpdir(), 'skiff-it-many-'));
      cleanup.add(() => rm(workDir, { recursive: true, force: true }));
      const target = await TargetProcess.start({ prefix: LIMIT });
      cleanup.add(() => target.kill());
      a = await RouterProcess.started({ name: SITE_A, wrapper: LIMIT });
      cleanup.add(() => a.dispose());
      b = await RouterProcess.started({ name: SITE_B, wrapper: LIMIT });
      cleanup.add(() => b.dispose());
      await linkSites(a, b, workDir);
      port = await exposeAndListen(b, a, 'echo', target.port);
    },
    { timeout: 60_000 },
  );

  after(() => cleanup.run(), { timeout: 60_000 });

  test('all served or refused cleanly; RSS back near where it started once they close', {
    timeout: 240_000,
    skip: NOFILE < MAX_STREAMS + 2 * AT_ONCE + 200 ? `the hard fd limit is ${NOFILE}` : false,
  }, async (t) => {
    // Warm up both routers (their heaps grow on first use) before the baseline.
    for (const { socket } of await Promise.all(
      [...Array(200).keys()].map((n) => openOne(port, n)),
    )) {
      socket.destroy();
    }
    await pollUntil('the warm-up streams to close', async () => {
      const [sa, sb] = await Promise.all([a.status(), b.status()]);
      return sa.streams.active === 0 && sb.streams.active === 0;
    });
    const before = [rssMiB(a.pid!), rssMiB(b.pid!)];
    const marks = [a.mark(), b.mark()];
    const started = performance.now();
    const open: Socket[] = [];
    const fates: Record<Fate, number> = { served: 0, refused: 0, failed: 0 };
    for (let next = 0; next < CONNECTIONS; next += AT_ONCE) {
      const wave = [...Array(Math.min(AT_ONCE, CONNECTIONS - next)).keys()].map((i) =>
        openOne(port, next + i),
      );
      for (const { socket, fate } of await withTimeout(Promise.all(wave), 60_000, 'a wave')) {
        fates[fate]++;
        open.push(socket);
      }
    }
    const openMs = performance.now() - started;
    const [statusA, statusB] = await Promise.all([a.status(), b.status()]);
    const at = [rssMiB(a.pid!), rssMiB(b.pid!)];
    const closed = open
      .filter((socket) => !socket.destroyed)
      .map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    for (const socket of open) socket.end();
    await withTimeout(Promise.all(closed), 60_000, 'every client to close');
    await pollUntil(
      'both routers to drop every stream',
      async () => {
        const [sa, sb] = await Promise.all([a.status(), b.status()]);
        return sa.streams.active === 0 && sb.streams.active === 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // What stays after the close is mostly dead JavaScript that a quiet router would not
    // collect on its own; src/runtime/idle-collector.ts runs a full GC once it has been quiet
    // for 2 s (checked every second; at most one per 10 s), so RSS returns within seconds.
    const near = (rss: number[]): boolean => [0, 1].every((i) => rss[i]! <= before[i]! + SLACK_MIB);
    let afterClose = [0, 0];
    await pollUntil(
      'RSS to come back near where it started',
      async () => {
        afterClose = [rssMiB(a.pid!), rssMiB(b.pid!)];
        return near(afterClose);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).catch(() => undefined); // asserted below, with the figures

    const line =
      `${CONNECTIONS} connections in ${(openMs / 1000).toFixed(1)} s: ${JSON.stringify(fates)}; ` +
      `streams open ${statusA.streams.active} (A) / ${statusB.streams.active} (B); RSS MiB ` +
      `A ${before[0]!.toFixed(0)} -> ${at[0]!.toFixed(0)} -> ${afterClose[0]!.toFixed(0)}, ` +
      `B ${before[1]!.toFixed(0)} -> ${at[1]!.toFixed(0)} -> ${afterClose[1]!.toFixed(0)}`;
    t.diagnostic(line);
    const gcs = [a, b].map((r, i) =>
      r
        .eventsSince(marks[i]!, match('full GC on a quiet router'))
        .map(
          ({ beforeMiB, afterMiB, rssMiB: rss, ms, open }) =>
            `${open} streams: ${beforeMiB}->${afterMiB} MiB in use in ${ms} ms, RSS ${rss}`,
        ),
    );
    t.diagnostic(`full GCs when quiet: A ${JSON.stringify(gcs[0])}, B ${JSON.stringify(gcs[1])}`);
    assert.equal(fates.failed, 0, line);
    assert.equal(fates.served + fates.refused, CONNECTIONS, line);
    const limit = Math.min(CONNECTIONS, MAX_STREAMS);
    assert.equal(fates.served, limit, `served up to the stream limit: ${line}`);
    assert.ok(
      near(afterClose),
      `RSS within ${SLACK_MIB} MiB of the start after the close: ${line}`,
    );
  });
});
