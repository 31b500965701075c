/**
 * A real Prometheus (Debian's package) scrapes two linked routers (`site run
 * --metrics-port`) every second. After a hashed transfer through an address, PromQL over
 * the HTTP API returns its bytes exactly, at the listener's site and at the connector's;
 * `up` answers for both routers and the link metrics for both sites. Skipped when
 * prometheus is not installed, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exposeAndListen, linkSites } from '../helpers/pair.js';
import { type Prometheus, prometheusUnavailable, startPrometheus } from '../helpers/prometheus.js';
import type { RouterProcess } from '../helpers/router.js';
import { routerWithMetrics } from '../helpers/router-metrics.js';
import {
  connect,
  destroyClients,
  receiveAll,
  type SinkSourceServer,
  sendPattern,
  startSinkSourceServer,
} from '../helpers/tcp.js';
import { Cleanup, pollUntil } from '../helpers/wait.js';

const unavailable = prometheusUnavailable();
// CI installs prometheus (.ci/run): there a missing one is a failure, not a skip.
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const UPLOAD = 5 * 1024 * 1024 + 123;
const DOWNLOAD = 2 * 1024 * 1024 + 7;

describe('Prometheus scraping two linked routers', { timeout: 120_000, skip: unavailable }, () => {
  const cleanup = new Cleanup();
  let a: RouterProcess;
  let b: RouterProcess;
  let targets: { a: string; b: string };
  let prometheus: Prometheus;
  let sink: SinkSourceServer;
  let listenerPort: number;

  before(
    async () => {
      cleanup.add(destroyClients);
      const workDir = await mkdtemp(join(tmpdir(), 'skiff-it-prom-'));
      cleanup.add(() => rm(workDir, { recursive: true, force: true }));
      const [ra, rb] = await Promise.all([
        routerWithMetrics('prom-a'),
        routerWithMetrics('prom-b', 'setting'),
      ]);
      a = ra.router;
      b = rb.router;
      cleanup.add(() => a.dispose());
      cleanup.add(() => b.dispose());
      targets = { a: `127.0.0.1:${ra.port}`, b: `127.0.0.1:${rb.port}` };
      await linkSites(a, b, workDir);
      sink = await startSinkSourceServer(DOWNLOAD, 2);
      cleanup.add(() => sink.close());
      listenerPort = await exposeAndListen(a, b, 'svc', sink.port);
      prometheus = await startPrometheus({ targets: [targets.a, targets.b] });
      cleanup.add(() => prometheus.stop());
    },
    { timeout: 90_000 },
  );
  after(() => cleanup.run(), { timeout: 30_000 });

  test('up answers 1 for both routers', async () => {
    const up = await pollUntil('both targets scraped', async () => {
      const result = await prometheus.query('up{job="skiff"}');
      return result.length === 2 && result.every((s) => s.value === 1) ? result : undefined;
    });
    assert.deepEqual(up.map((s) => s.metric.instance).sort(), [targets.a, targets.b].sort());
  });

  test('after a hashed transfer, PromQL returns the address bytes exactly at both sites', async () => {
    const client = await connect(listenerPort);
    const [sent, received] = await Promise.all([
      sendPattern(client, UPLOAD, 1),
      receiveAll(client),
    ]);
    const session = sink.sessions[0]!;
    assert.deepEqual(await session.received, sent, 'the target got the bytes, same hash');
    assert.deepEqual(received, await session.sent, 'the client got the reply, same hash');
    // Each side counts once its stream ended; Prometheus sees it at its next scrape.
    const bytesAt = async (promql: string) => {
      const result = await prometheus.query(promql);
      return result.length === 1 ? result[0]!.value : undefined;
    };
    const expected: Array<[string, number]> = [
      ['skiff_address_received_bytes_total{address="svc",side="listener"}', UPLOAD],
      ['skiff_address_sent_bytes_total{address="svc",side="listener"}', DOWNLOAD],
      ['skiff_address_sent_bytes_total{address="svc",side="connector"}', UPLOAD],
      ['skiff_address_received_bytes_total{address="svc",side="connector"}', DOWNLOAD],
    ];
    for (const [promql, bytes] of expected) {
      await pollUntil(`${promql} to be ${bytes}`, async () => (await bytesAt(promql)) === bytes, {
        timeoutMs: 20_000,
        intervalMs: 250,
      });
    }
    const bySite = await prometheus.query(
      'sum by (site, side) (skiff_address_received_bytes_total{address="svc"})',
    );
    assert.deepEqual(bySite.map((s) => [s.metric.site, s.metric.side, s.value]).sort(), [
      ['prom-a', 'connector', DOWNLOAD],
      ['prom-b', 'listener', UPLOAD],
    ]);
    const opened = await prometheus.query(
      'skiff_address_streams_opened_total{address="svc",outcome="ok"}',
    );
    assert.deepEqual(opened.map((s) => [s.metric.site, s.value]).sort(), [
      ['prom-a', 1],
      ['prom-b', 1],
    ]);
  });

  test('link metrics answer for both sites', async () => {
    const up = await prometheus.query('skiff_link_up');
    assert.deepEqual(
      up.map((s) => [s.metric.site, s.metric.link, s.metric.direction, s.value]).sort(),
      [
        ['prom-a', 'prom-b', 'in', 1],
        ['prom-b', 'prom-a', 'out', 1],
      ],
    );
    const rtt = await prometheus.query('skiff_link_rtt_seconds');
    assert.deepEqual(rtt.map((s) => s.metric.site).sort(), ['prom-a', 'prom-b']);
    for (const s of rtt)
      assert.ok(s.value > 0 && s.value < 5, `rtt ${s.value} s at ${s.metric.site}`);
    // The upload crossed the link from B to A: at least its bytes, framing on top.
    const carried = await prometheus.query(
      'skiff_link_sent_bytes_total{site="prom-b"} or skiff_link_received_bytes_total{site="prom-a"}',
    );
    assert.equal(carried.length, 2);
    for (const s of carried) assert.ok(s.value > UPLOAD, `${s.metric.__name__} ${s.value}`);
    const frames = await prometheus.query('skiff_link_received_frames_total > 0');
    assert.deepEqual(frames.map((s) => s.metric.site).sort(), ['prom-a', 'prom-b']);
    const process = await prometheus.query('process_resident_memory_bytes{job="skiff"}');
    assert.deepEqual(process.map((s) => s.metric.site).sort(), ['prom-a', 'prom-b']);
  });
});
