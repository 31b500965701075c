/**
 * Issue 9 points 4-6 against a real router: a hostile linked peer (a real credential from a
 * real redemption, test/helpers/hostile-peer.ts) floods the victim A with what makes it
 * reply (PINGs, WebSocket pings, refused OPENs) while not reading, with 1-byte DATA frames,
 * and with OPEN+RESET pairs. Each time: A stays up, its RSS stays bounded (/proc), `skiff
 * status` answers, and a legitimate stream from B over another link moves 8 MiB each way
 * byte-exact; over the rate limits the hostile link is closed with its reason in `link
 * status`. CPU and RSS before/during are printed as diagnostics.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { cpuSeconds, rssMiB } from '../../bench/proc.js';
import { encodeFrame, encodeOpen, encodePing, encodeReset } from '../../src/protocol/encode.js';
import { FrameType, ResetCode } from '../../src/protocol/frame.js';
import { HostilePeer, redeemCredential } from '../helpers/hostile-peer.js';
import { expose, exposeAndListen, type LinkedSites, useLinkedSites } from '../helpers/pair.js';
import { MiB, startSinkSourceServer } from '../helpers/tcp.js';
import { assertExchanged, exchange } from '../helpers/traffic.js';
import { pollUntil, withTimeout } from '../helpers/wait.js';

/** RSS the victim may gain during one attack (before the fix: hundreds of MiB in seconds). */
const RSS_GROWTH_MIB = 96;
const FLOOD_MS = 4_000;

let hostileCount = 0;

async function hostile(sites: LinkedSites): Promise<{ peer: HostilePeer; name: string }> {
  const n = ++hostileCount;
  // The id is proven at redemption (derived from a CA of the hostile site's own).
  const cred = await redeemCredential(sites.a, sites.workDir, { siteName: `evil-${n}` });
  const peer = await HostilePeer.dial(cred);
  await peer.hello({}, cred.identity);
  await peer.waitFor(FrameType.CONTROL);
  return { peer, name: cred.identity.siteName };
}

/** Sends `message` again and again for `ms` (or until the victim stops taking it). */
async function flood(peer: HostilePeer, message: () => Buffer, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let sent = 0;
  while (Date.now() < deadline) {
    const left = deadline - Date.now();
    const ok = await Promise.race([
      peer.send(message()).then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), left).unref()),
    ]);
    if (!ok) break;
    sent++;
  }
  return sent;
}

interface Usage {
  rss: number;
  cpu: number;
  at: number;
}

function usage(pid: number): Usage {
  return { rss: rssMiB(pid), cpu: cpuSeconds(pid), at: performance.now() };
}

/** Runs the attack while a legitimate exchange runs; asserts the victim held up. */
async function underAttack(
  t: TestContext,
  sites: LinkedSites,
  legitPort: number,
  server: Awaited<ReturnType<typeof startSinkSourceServer>>,
  attack: () => Promise<void>,
): Promise<void> {
  const pid = sites.a.pid!;
  const before = usage(pid);
  let peakRss = before.rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMiB(pid));
  }, 100);
  try {
    const legit = exchange(legitPort, server, 8 * MiB, 91);
    await attack();
    const during = usage(pid);
    const statusStarted = performance.now();
    const status = await withTimeout(sites.a.status(), 10_000, 'skiff status during the attack');
    const statusMs = performance.now() - statusStarted;
    assertExchanged(await withTimeout(legit, 60_000, 'the legitimate exchange'), 'legit stream');
    const cpu = (during.cpu - before.cpu) / ((during.at - before.at) / 1000);
    t.diagnostic(
      `victim RSS ${before.rss.toFixed(0)} -> peak ${peakRss.toFixed(0)} MiB; CPU ${(cpu * 100).toFixed(0)}% ` +
        `during the attack; status answered in ${statusMs.toFixed(0)} ms (${status.links.length} links)`,
    );
    assert.ok(
      peakRss - before.rss < RSS_GROWTH_MIB,
      `RSS grew from ${before.rss} to ${peakRss} MiB`,
    );
  } finally {
    clearInterval(sampler);
  }
}

function pings(count: number): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) frames.push(encodePing(Buffer.alloc(8, i)));
  return Buffer.concat(frames);
}

async function legitSetup(sites: LinkedSites, servers: { close(): Promise<void> }[]) {
  const server = await startSinkSourceServer(8 * MiB, 92);
  servers.push(server);
  const port = await exposeAndListen(sites.a, sites.b, 'legit', server.port);
  const sink = await startSinkSourceServer(0, 93);
  servers.push(sink);
  await expose(sites.a, 'sink', sink.port);
  return { server, port };
}

describe('hostile peer, limits raised: replies are bounded by pausing reads', {
  timeout: 180_000,
}, () => {
  let legit: Awaited<ReturnType<typeof legitSetup>>;
  const huge = 10_000_000;
  const { sites } = useLinkedSites({
    settings: {
      backoffMaxMs: 1000,
      peerOpenRate: huge,
      peerResetRate: huge,
      peerRefusedRate: huge,
      peerPingRate: huge,
    },
    setup: async (s, servers) => {
      legit = await legitSetup(s, servers);
    },
  });

  test('PING flood while not reading', async (t) => {
    const { peer } = await hostile(sites());
    peer.stopReading();
    const message = pings(4096);
    await underAttack(t, sites(), legit.port, legit.server, async () => {
      const sent = await flood(peer, () => message, FLOOD_MS);
      t.diagnostic(`hostile got ${sent} messages of 4096 PINGs taken`);
    });
    peer.close();
  });

  test('WebSocket PING flood while not reading', async (t) => {
    const { peer } = await hostile(sites());
    peer.stopReading();
    const payload = Buffer.alloc(125, 7);
    await underAttack(t, sites(), legit.port, legit.server, async () => {
      const deadline = Date.now() + FLOOD_MS;
      let sent = 0;
      while (Date.now() < deadline) {
        let more = true;
        for (let i = 0; i < 1000 && more; i++, sent++) more = peer.wsPing(payload);
        if (!more) {
          const drained = await Promise.race([
            new Promise<boolean>((resolve) => peer.tls.once('drain', () => resolve(true))),
            new Promise<boolean>((resolve) =>
              setTimeout(() => resolve(false), deadline - Date.now()).unref(),
            ),
          ]);
          if (!drained) break;
        } else {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      t.diagnostic(`hostile wrote ${sent} WebSocket pings`);
    });
    peer.close();
  });

  test('refused-OPEN flood while not reading', async (t) => {
    const { peer } = await hostile(sites());
    peer.stopReading();
    let id = 1;
    const bad = Buffer.from('{"window":1}'); // no address: refused with a RESET each
    const message = () => {
      const frames: Buffer[] = [];
      for (let i = 0; i < 2048; i++, id += 2) frames.push(encodeFrame(FrameType.OPEN, id, bad));
      return Buffer.concat(frames);
    };
    await underAttack(t, sites(), legit.port, legit.server, async () => {
      const sent = await flood(peer, message, FLOOD_MS);
      t.diagnostic(`hostile got ${sent} messages of 2048 bad OPENs taken`);
    });
    peer.close();
  });

  test('1-byte DATA frames filling a window: reset once they are charged past it', async (t) => {
    const { peer } = await hostile(sites());
    await peer.send(encodeOpen(1, { address: 'sink', window: 2 * MiB }));
    await peer.waitFor(FrameType.OPEN_OK, (f) => f.streamId === 1);
    const one = encodeFrame(FrameType.DATA, 1, Buffer.from('x'));
    const message = Buffer.concat(Array.from({ length: 10_000 }, () => one));
    await underAttack(t, sites(), legit.port, legit.server, async () => {
      for (let i = 0; i < 40; i++) await peer.send(message); // 400k frames
    });
    const reset = await peer.waitFor(FrameType.RESET, (f) => f.streamId === 1);
    assert.equal(reset.payload.readUInt32BE(0), ResetCode.PROTOCOL);
    assert.match(reset.payload.toString('utf8', 4), /charged/);
    peer.close();
  });
});

describe('hostile peer, default limits: over a rate the link is closed with its reason', {
  timeout: 180_000,
}, () => {
  let legit: Awaited<ReturnType<typeof legitSetup>>;
  const { sites } = useLinkedSites({
    setup: async (s, servers) => {
      legit = await legitSetup(s, servers);
    },
  });

  async function closedWith(name: string, pattern: RegExp): Promise<void> {
    const info = await pollUntil(
      `the hostile link ${name} to show why it closed`,
      async () => (await sites().a.links()).find((l) => l.name === name && l.lastError),
      { timeoutMs: 10_000 },
    );
    assert.match(info.lastError!, pattern);
  }

  test('PING flood over peerPingRate', async (t) => {
    const { peer, name } = await hostile(sites());
    const message = pings(1000);
    await underAttack(t, sites(), legit.port, legit.server, async () => {
      await flood(peer, () => message, 1000);
    });
    await closedWith(name, /PINGs per second/);
    peer.close();
  });

  test('OPEN then RESET at a high rate', async (t) => {
    const { peer, name } = await hostile(sites());
    let id = 1;
    const reason = 'bye';
    const message = () => {
      const frames: Buffer[] = [];
      for (let i = 0; i < 2000; i++, id += 2) {
        frames.push(encodeOpen(id, { address: 'sink', window: 65536 }));
        frames.push(encodeReset(id, ResetCode.ABORTED, reason));
      }
      return Buffer.concat(frames);
    };
    const pairsBefore = usage(sites().a.pid!);
    await underAttack(t, sites(), legit.port, legit.server, async () => {
      const sent = await flood(peer, message, 3000);
      t.diagnostic(`hostile sent ${sent * 2000} OPEN+RESET pairs`);
    });
    await closedWith(name, /OPENs per second|RESETs per second/);
    const status = await sites().a.status();
    t.diagnostic(
      `streams total at the victim: ${status.streams.total} (${((usage(sites().a.pid!).cpu - pairsBefore.cpu) * 100).toFixed(0)} cs CPU)`,
    );
    peer.close();
  });
});
