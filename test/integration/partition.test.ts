/**
 * Proves links survive real network faults, with routers in network namespaces the test
 * makes (test/helpers/netns.ts): the A-B veth pair taken down for 5 s and for 30 s, and
 * 5% packet loss (nftables in B) with 300 ms of delay each way (a userspace proxy in A).
 * - A partition longer than idleTimeoutMs: both ends declare the peer dead within
 *   idleTimeoutMs plus one ping interval; the stream open across it is reset, never
 *   truncated (what arrived is an exact prefix); the link is back within a few seconds of
 *   healing and a new transfer is byte-exact. Times are measured and printed.
 * - A partition shorter than idleTimeoutMs: the link stays up and the open stream resumes
 *   and completes byte-exact.
 * - Loss and delay: the link stays up and transfers both ways complete byte-exact.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ListenerInfo } from '../../src/admin/api.js';
import { NetnsLab, type NsProcess } from '../helpers/netns.js';
import { awaitLinkUp, expose, linkSites, SITE_A, SITE_B, waitForAddress } from '../helpers/pair.js';
import { pickPort } from '../helpers/ports.js';
import { match, RouterProcess } from '../helpers/router.js';
import { download, TargetProcess, upload } from '../helpers/target.js';
import { GiB, MiB } from '../helpers/tcp.js';
import { Cleanup } from '../helpers/wait.js';

const PING_MS = 1000;
const IDLE_MS = 3000;
const FAST = { backoffMaxMs: 1000, pingIntervalMs: PING_MS, idleTimeoutMs: IDLE_MS };

interface Sites {
  a: RouterProcess;
  b: RouterProcess;
  target: TargetProcess;
  /** The listener at A, on A's loopback. */
  port: number;
  /** The unix socket the test process dials to reach it (a bridge in A). */
  path: string;
}

/**
 * Routers A (listener) in lab.nsA and B (connector, dialling A) in lab.nsB, the target in
 * nsB on its loopback, the listener on A's loopback, reached through a unix-socket bridge.
 * With `advertisedPort` tokens advertise that port while A's link server binds `a.bindPort`,
 * and `beforeLink` can put a proxy between them. Ports inside the lab's namespaces are
 * bound by nothing but the test's own processes, so a picked one cannot be taken there.
 */
async function startSites(
  lab: NetnsLab,
  cleanup: Cleanup,
  settings: Record<string, number>,
  {
    advertisedPort,
    beforeLink,
  }: { advertisedPort?: number; beforeLink?: (a: RouterProcess) => Promise<void> } = {},
): Promise<Sites> {
  const workDir = await mkdtemp(join(tmpdir(), 'skiff-it-netns-'));
  cleanup.add(() => rm(workDir, { recursive: true, force: true }));
  const target = await TargetProcess.start({ prefix: lab.prefix(lab.nsB) });
  cleanup.add(() => target.kill());
  const a = await RouterProcess.create({
    name: SITE_A,
    settings,
    linkHost: lab.linkA,
    wrapper: lab.prefix(lab.nsA),
    ...(advertisedPort === undefined ? {} : { advertisedPort }),
  });
  cleanup.add(() => a.dispose());
  await a.start();
  const b = await RouterProcess.create({
    name: SITE_B,
    settings,
    linkHost: lab.linkB,
    wrapper: lab.prefix(lab.nsB),
  });
  cleanup.add(() => b.dispose());
  await b.start();
  await beforeLink?.(a);
  await linkSites(a, b, workDir);
  await expose(b, 'bulk', target.port);
  await waitForAddress(a, 'bulk', SITE_B);
  const port = await pickPort();
  const listener = await a.json<ListenerInfo>([
    'listener',
    'create',
    'bulk',
    '--port',
    String(port),
    '--host',
    lab.loopback,
  ]);
  assert.equal(listener.state, 'bound', `listener at ${lab.loopback}:${port}: ${listener.error}`);
  const bridge = await lab.bridge(lab.nsA, { host: lab.loopback, port });
  cleanup.add(() => bridge.close());
  return { a, b, target, port, path: bridge.path };
}

describe('partitions, loss and delay between routers in network namespaces', {
  timeout: 300_000,
}, () => {
  let lab: NetnsLab | undefined;
  const cleanup = new Cleanup();
  const figures: string[] = [];

  before(() => {
    lab = NetnsLab.create();
    cleanup.add(() => lab?.dispose());
  });

  after(
    async () => {
      await cleanup.run();
    },
    { timeout: 60_000 },
  );

  describe(`idleTimeoutMs ${IDLE_MS}, pingIntervalMs ${PING_MS}`, () => {
    let sites: Sites | undefined;
    before(
      async () => {
        sites = await startSites(lab!, cleanup, FAST);
      },
      { timeout: 60_000 },
    );

    for (const seconds of [5, 30]) {
      test(`a ${seconds} s partition: the dead peer is seen in time, the open stream is reset, the link returns`, {
        timeout: 120_000,
      }, async (t) => {
        const { a, b, port, path } = sites!;
        const sinceA = a.mark();
        const sinceB = b.mark();
        let cutAt = 0;
        const transfer = download(port, 4 * GiB, seconds, {
          path,
          timeoutMs: seconds * 1000 + 30_000,
          onProgress: (bytes) => {
            if (cutAt === 0 && bytes >= 32 * MiB) {
              cutAt = performance.now();
              lab!.partition();
            }
          },
        });
        const [downA, downB] = await Promise.all([
          a.waitForEvent(match('link down', { link: SITE_B }), {
            since: sinceA,
            timeoutMs: 20_000,
          }),
          b.waitForEvent(match('link down', { link: SITE_A }), {
            since: sinceB,
            timeoutMs: 20_000,
          }),
        ]);
        const seenA = a.receivedTime(downA) - cutAt;
        const seenB = b.receivedTime(downB) - cutAt;
        const view = await transfer;
        assert.equal(view.mismatchAt, undefined, 'what arrived is the payload');
        assert.ok(
          view.reset !== undefined && !view.complete,
          `the stream is reset: ${JSON.stringify(view)}`,
        );
        // Bounded wait on the partition's own clock: heal once it has lasted `seconds`.
        const left = cutAt + seconds * 1000 - performance.now();
        if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
        const sinceUpA = a.mark();
        const sinceUpB = b.mark();
        const healedAt = performance.now();
        lab!.heal();
        await awaitLinkUp(a, b, SITE_A, {
          sinceIssuer: sinceUpA,
          sinceDialler: sinceUpB,
          timeoutMs: 20_000,
        });
        const upA = a.eventsSince(sinceUpA, match('link up', { link: SITE_B })).at(-1)!;
        const upB = b.eventsSince(sinceUpB, match('link up', { link: SITE_A })).at(-1)!;
        const backA = a.receivedTime(upA) - healedAt;
        const backB = b.receivedTime(upB) - healedAt;
        const line =
          `${seconds} s partition: peer declared dead after ${seenA.toFixed(0)} ms at A, ` +
          `${seenB.toFixed(0)} ms at B (idle ${IDLE_MS} + ping ${PING_MS}); link up ` +
          `${backA.toFixed(0)} ms (A) / ${backB.toFixed(0)} ms (B) after healing; stream reset ` +
          `after ${view.bytes} bytes (${view.reset})`;
        figures.push(line);
        t.diagnostic(line);
        // Generous bounds: the timer checks once per ping, and a cold process may lag.
        assert.ok(seenA < IDLE_MS + PING_MS + 1500, `A saw the dead peer after ${seenA} ms`);
        assert.ok(seenB < IDLE_MS + PING_MS + 1500, `B saw the dead peer after ${seenB} ms`);
        assert.ok(backA < 10_000 && backB < 10_000, `link back after ${backA} / ${backB} ms`);
        await waitForAddress(a, 'bulk', SITE_B, 20_000);
        const again = await download(port, 64 * MiB, 100 + seconds, { path });
        assert.ok(again.complete, `a new download after healing: ${JSON.stringify(again)}`);
      });
    }
  });

  describe('idleTimeoutMs 10000: a partition shorter than it', () => {
    let sites: Sites | undefined;
    before(
      async () => {
        sites = await startSites(lab!, cleanup, { ...FAST, idleTimeoutMs: 10_000 });
      },
      { timeout: 60_000 },
    );

    test('a 5 s partition: the link stays up and the open stream resumes byte-exact', {
      timeout: 120_000,
    }, async (t) => {
      const { a, b, port, path } = sites!;
      const sinceA = a.mark();
      const sinceB = b.mark();
      let healed: Promise<number> | undefined;
      const started = performance.now();
      const view = await download(port, 256 * MiB, 5, {
        path,
        timeoutMs: 60_000,
        onProgress: (bytes) => {
          if (healed === undefined && bytes >= 32 * MiB) {
            lab!.partition();
            healed = new Promise((resolve) =>
              setTimeout(() => {
                lab!.heal();
                resolve(performance.now());
              }, 5000),
            );
          }
        },
      });
      const healedAt = await healed!;
      const ms = performance.now() - started;
      assert.ok(view.complete, `the stream completes byte-exact: ${JSON.stringify(view)}`);
      assert.deepEqual(a.eventsSince(sinceA, match('link down')), [], 'A kept the link');
      assert.deepEqual(b.eventsSince(sinceB, match('link down')), [], 'B kept the link');
      const line = `5 s partition under a 10 s idle timeout: link kept, 256 MiB complete ${(performance.now() - healedAt).toFixed(0)} ms after healing (${ms.toFixed(0)} ms in all)`;
      figures.push(line);
      t.diagnostic(line);
    });
  });

  describe('5% loss and 300 ms delay each way', () => {
    let sites: Sites | undefined;
    let proxy: NsProcess | undefined;
    before(
      async () => {
        sites = await startSites(lab!, cleanup, FAST, {
          advertisedPort: await pickPort(),
          beforeLink: async (a) => {
            proxy = await lab!.delayProxy(
              lab!.nsA,
              { host: lab!.linkA, port: a.linkPort },
              { host: lab!.linkA, port: a.bindPort },
              300,
            );
            cleanup.add(() => proxy?.close());
          },
        });
        lab!.loss(5);
        cleanup.add(() => lab?.noLoss());
      },
      { timeout: 60_000 },
    );

    test('the link stays up and 16 MiB each way arrive byte-exact', {
      timeout: 180_000,
    }, async (t) => {
      const { a, b, port, path } = sites!;
      const sinceA = a.mark();
      const sinceB = b.mark();
      const rtt = performance.now();
      const small = await download(port, 1024, 1, { path });
      const rttMs = performance.now() - rtt;
      assert.ok(small.complete, 'a 1 KiB download');
      const t0 = performance.now();
      const down = await download(port, 16 * MiB, 2, { path, timeoutMs: 120_000 });
      const downMs = performance.now() - t0;
      const t1 = performance.now();
      const up = await upload(port, 16 * MiB, 3, { path, timeoutMs: 120_000 });
      const upMs = performance.now() - t1;
      assert.ok(down.complete, `download: ${JSON.stringify(down)}`);
      assert.ok(up.complete, `upload: ${JSON.stringify(up)}`);
      assert.deepEqual(a.eventsSince(sinceA, match('link down')), [], 'A kept the link');
      assert.deepEqual(b.eventsSince(sinceB, match('link down')), [], 'B kept the link');
      const line = `5% loss + 300 ms delay each way: 1 KiB download ${rttMs.toFixed(0)} ms, 16 MiB download ${(downMs / 1000).toFixed(1)} s, 16 MiB upload ${(upMs / 1000).toFixed(1)} s, link kept`;
      figures.push(line);
      t.diagnostic(line);
    });
  });
});
