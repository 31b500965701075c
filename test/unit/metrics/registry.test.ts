/**
 * The router's metric registry over real routers in this process (site/router.ts, real
 * links over mutual-TLS wss on 127.0.0.1, real listeners and targets): what /metrics shows
 * after known traffic. Names follow the Prometheus conventions and docs/metrics.md lists
 * exactly them; every series carries the site; a transfer is counted to the byte at both
 * ends of its address; the link's counters agree across it; refusals, missing routes and
 * limits land under their outcome; admin calls under method and status.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { connectAdmin } from '../../../src/admin/client.js';
import { startAdminServer } from '../../../src/admin/server.js';
import { adminSocketPath } from '../../../src/config/paths.js';
import { silentLogger } from '../../../src/log.js';
import { createRouterMetrics, type RouterMetrics } from '../../../src/metrics/registry.js';
import type { Router } from '../../../src/site/router.js';
import { linkRouters, listenOnFreePort, startRouter } from '../../helpers/in-process-router.js';
import { pickPort } from '../../helpers/ports.js';
import {
  type Exposition,
  parseExposition,
  samplesOf,
  sampleValue,
} from '../../helpers/prom-text.js';
import {
  connect,
  destroyClients,
  outcome,
  receiveAll,
  type SinkSourceServer,
  sendPattern,
  startEchoServer,
  startSinkSourceServer,
  type TcpServer,
} from '../../helpers/tcp.js';
import { Cleanup, pollUntil } from '../../helpers/wait.js';

const UPLOAD = 3 * 1024 * 1024 + 17;
const DOWNLOAD = 1024 * 1024 + 5;
/** Few pings, so the link's byte counters stand still between two scrapes. */
const SETTINGS = { pingIntervalMs: 60_000, idleTimeoutMs: 120_000 };

async function scrape(metrics: RouterMetrics): Promise<Exposition> {
  return parseExposition(await metrics.scrape());
}

describe('router metrics after traffic through two linked routers', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  let a: Router;
  let b: Router;
  let ma: RouterMetrics;
  let mb: RouterMetrics;
  let sink: SinkSourceServer;
  let svcPort: number;

  before(async () => {
    cleanup.add(destroyClients);
    a = await startRouter('metrics-a', SETTINGS);
    cleanup.add(() => a.stop());
    // One stream per link at B: the second client at once meets the limit.
    b = await startRouter('metrics-b', { ...SETTINGS, maxStreamsPerLink: 1 });
    cleanup.add(() => b.stop());
    ma = createRouterMetrics(a.metricsSource());
    mb = createRouterMetrics(b.metricsSource());
    cleanup.add(() => ma.close());
    cleanup.add(() => mb.close());
    await linkRouters(a, b);
    sink = await startSinkSourceServer(DOWNLOAD, 2);
    cleanup.add(() => sink.close());
    await a.expose({ address: 'svc', host: '127.0.0.1', port: sink.port });
    await pollUntil('B to learn that A serves svc', async () =>
      (await b.networkStatus()).addresses.some((x) => x.address === 'svc'),
    );
    svcPort = (await listenOnFreePort(b, 'svc')).port;
  });
  after(() => cleanup.run());

  test('a transfer is counted to the byte at the listener and at the connector', async () => {
    const client = await connect(svcPort);
    const [sent, received] = await Promise.all([
      sendPattern(client, UPLOAD, 1),
      receiveAll(client),
    ]);
    assert.equal(received.bytes, DOWNLOAD);
    assert.deepEqual(await sink.sessions[0]!.received, sent, 'the target got every byte');
    // The router finishes the stream after the client saw its end: wait for the count.
    await pollUntil('both ends to count the stream finished', async () => {
      const [ea, eb] = [await scrape(ma), await scrape(mb)];
      return (
        sampleValue(eb, 'skiff_address_streams_open', { address: 'svc', side: 'listener' }) === 0 &&
        sampleValue(ea, 'skiff_address_streams_open', { address: 'svc', side: 'connector' }) === 0
      );
    });
    const [ea, eb] = [await scrape(ma), await scrape(mb)];
    const at = (exp: Exposition, name: string, side: string) =>
      sampleValue(exp, name, { address: 'svc', side });
    assert.equal(at(eb, 'skiff_address_received_bytes_total', 'listener'), UPLOAD);
    assert.equal(at(eb, 'skiff_address_sent_bytes_total', 'listener'), DOWNLOAD);
    assert.equal(at(ea, 'skiff_address_sent_bytes_total', 'connector'), UPLOAD);
    assert.equal(at(ea, 'skiff_address_received_bytes_total', 'connector'), DOWNLOAD);
    for (const [exp, side] of [
      [eb, 'listener'],
      [ea, 'connector'],
    ] as const) {
      const opened = { address: 'svc', side, outcome: 'ok' };
      assert.equal(sampleValue(exp, 'skiff_address_streams_opened_total', opened), 1, side);
      assert.equal(at(exp, 'skiff_address_open_duration_seconds_count', side), 1, side);
      assert.ok(at(exp, 'skiff_address_open_duration_seconds_sum', side) > 0, side);
      const buckets = samplesOf(exp, 'skiff_address_open_duration_seconds_bucket', {
        address: 'svc',
        side,
      });
      assert.equal(buckets.at(-1)?.labels.le, '+Inf');
      assert.equal(buckets.at(-1)?.value, 1);
    }
    // Only the sides a site played show: A never saw a client of svc, B never dialled it.
    assert.deepEqual(samplesOf(ea, 'skiff_address_streams_open', { side: 'listener' }), []);
    assert.deepEqual(samplesOf(eb, 'skiff_address_streams_open', { side: 'connector' }), []);
    assert.equal(sampleValue(ea, 'skiff_connector_dial_failures_total', { address: 'svc' }), 0);
    assert.equal(sampleValue(eb, 'skiff_router_streams_total'), 1);
    assert.ok(sampleValue(eb, 'skiff_router_buffered_peak_bytes') > 0);
    assert.equal(sampleValue(eb, 'skiff_router_buffered_bytes'), 0);
  });

  test('the link: up with an RTT at both ends, bytes and frames agree across it', async () => {
    const [ea, eb] = await pollUntil('both ends to agree on what the link carried', async () => {
      const pair = [await scrape(ma), await scrape(mb)] as const;
      const [x, y] = pair;
      const agree =
        sampleValue(x, 'skiff_link_sent_bytes_total') ===
          sampleValue(y, 'skiff_link_received_bytes_total') &&
        sampleValue(y, 'skiff_link_sent_bytes_total') ===
          sampleValue(x, 'skiff_link_received_bytes_total') &&
        sampleValue(x, 'skiff_link_sent_frames_total') ===
          sampleValue(y, 'skiff_link_received_frames_total') &&
        sampleValue(y, 'skiff_link_sent_frames_total') ===
          sampleValue(x, 'skiff_link_received_frames_total');
      return agree ? pair : undefined;
    });
    const linkB = { link: 'metrics-a', direction: 'out', peer: 'metrics-a' };
    const linkA = { link: 'metrics-b', direction: 'in', peer: 'metrics-b' };
    assert.equal(sampleValue(eb, 'skiff_link_up', linkB), 1);
    assert.equal(sampleValue(ea, 'skiff_link_up', linkA), 1);
    for (const [exp, labels] of [
      [ea, linkA],
      [eb, linkB],
    ] as const) {
      const rtt = sampleValue(exp, 'skiff_link_rtt_seconds', labels);
      assert.ok(rtt > 0 && rtt < 5, `rtt ${rtt} s`);
      assert.equal(sampleValue(exp, 'skiff_link_reconnects_total', labels), 0);
      assert.equal(sampleValue(exp, 'skiff_link_streams', labels), 0);
      assert.deepEqual(samplesOf(exp, 'skiff_link_last_error_info'), []);
    }
    // Each direction carried its payload plus a 9-byte header per DATA frame and the rest.
    const upload = sampleValue(eb, 'skiff_link_sent_bytes_total');
    const download = sampleValue(ea, 'skiff_link_sent_bytes_total');
    assert.ok(upload > UPLOAD && upload < UPLOAD * 1.01 + 64 * 1024, `upload ${upload}`);
    assert.ok(download > DOWNLOAD && download < DOWNLOAD * 1.01 + 64 * 1024, `${download}`);
    assert.ok(sampleValue(eb, 'skiff_link_sent_frames_total') >= UPLOAD / (64 * 1024));
  });

  test('a listener nobody serves counts no_route; a target that is down, refused and a dial failure', async () => {
    await listenOnFreePort(b, 'nowhere').then(async ({ port }) => {
      const client = await connect(port);
      assert.equal((await outcome(client)).sawEnd, true, 'closed cleanly');
    });
    const downPort = await pickPort(); // nothing listens there
    await a.expose({ address: 'down', host: '127.0.0.1', port: downPort });
    await pollUntil('B to learn that A serves down', async () =>
      (await b.networkStatus()).addresses.some((x) => x.address === 'down'),
    );
    const { port } = await listenOnFreePort(b, 'down');
    await outcome(await connect(port));
    const [ea, eb] = await pollUntil('the refusal to be counted at both ends', async () => {
      const pair = [await scrape(ma), await scrape(mb)] as const;
      const opened = samplesOf(pair[1], 'skiff_address_streams_opened_total', {
        address: 'down',
        outcome: 'refused',
      });
      return opened[0]?.value === 1 ? pair : undefined;
    });
    const opened = (exp: Exposition, address: string, side: string, result: string) =>
      sampleValue(exp, 'skiff_address_streams_opened_total', { address, side, outcome: result });
    assert.equal(opened(eb, 'nowhere', 'listener', 'no_route'), 1);
    assert.equal(opened(eb, 'nowhere', 'listener', 'ok'), 0);
    assert.equal(opened(ea, 'down', 'connector', 'refused'), 1);
    assert.equal(opened(eb, 'down', 'listener', 'refused'), 1);
    assert.equal(sampleValue(ea, 'skiff_connector_dial_failures_total', { address: 'down' }), 1);
    assert.equal(
      sampleValue(eb, 'skiff_address_streams_open', { address: 'down', side: 'listener' }),
      0,
    );
  });

  test('a second stream over a link that carries its maximum counts limit', async () => {
    const echo: TcpServer = await startEchoServer();
    cleanup.add(() => echo.close());
    await a.expose({ address: 'echo', host: '127.0.0.1', port: echo.port });
    await pollUntil('B to learn that A serves echo', async () =>
      (await b.networkStatus()).addresses.some((x) => x.address === 'echo'),
    );
    const { port } = await listenOnFreePort(b, 'echo');
    const first: Socket = await connect(port);
    first.write('x');
    await new Promise((resolve) => first.once('data', resolve)); // the one stream is open
    await outcome(await connect(port));
    const exp = await pollUntil('the limit to be counted', async () => {
      const e = await scrape(mb);
      const n = sampleValue(e, 'skiff_address_streams_opened_total', {
        address: 'echo',
        side: 'listener',
        outcome: 'limit',
      });
      return n === 1 ? e : undefined;
    });
    assert.equal(
      sampleValue(exp, 'skiff_address_streams_open', { address: 'echo', side: 'listener' }),
      1,
    );
    assert.equal(sampleValue(exp, 'skiff_link_streams', { link: 'metrics-a' }), 1);
    first.destroy();
  });

  test('admin calls are counted by method and gRPC status', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-metrics-admin-'));
    cleanup.add(() => rm(dir, { recursive: true, force: true }));
    const server = await startAdminServer(b, adminSocketPath(dir), silentLogger, b.adminCalls);
    cleanup.add(() => server.close());
    const client = connectAdmin(dir);
    try {
      await client.status();
      await client.status();
      await assert.rejects(client.deleteListener('no-such-address'));
    } finally {
      client.close();
    }
    const exp = await scrape(mb);
    assert.equal(
      sampleValue(exp, 'skiff_admin_requests_total', { method: 'Status', code: 'OK' }),
      2,
    );
    assert.equal(
      sampleValue(exp, 'skiff_admin_requests_total', {
        method: 'DeleteListener',
        code: 'NOT_FOUND',
      }),
      1,
    );
  });

  test('a local route (listener and connector in one site) counts at both', async () => {
    const echo: TcpServer = await startEchoServer();
    cleanup.add(() => echo.close());
    await a.expose({ address: 'here', host: '127.0.0.1', port: echo.port });
    const { port } = await listenOnFreePort(a, 'here');
    const client = await connect(port);
    const [sent, back] = await Promise.all([sendPattern(client, UPLOAD, 3), receiveAll(client)]);
    assert.deepEqual(back, sent, 'echoed whole');
    const exp = await pollUntil('the local stream to end', async () => {
      const e = await scrape(ma);
      const open = sampleValue(e, 'skiff_address_streams_open', {
        address: 'here',
        side: 'listener',
      });
      return open === 0 ? e : undefined;
    });
    for (const side of ['listener', 'connector']) {
      const labels = { address: 'here', side };
      assert.equal(sampleValue(exp, 'skiff_address_received_bytes_total', labels), UPLOAD, side);
      assert.equal(sampleValue(exp, 'skiff_address_sent_bytes_total', labels), UPLOAD, side);
      assert.equal(
        sampleValue(exp, 'skiff_address_streams_opened_total', { ...labels, outcome: 'ok' }),
        1,
      );
      assert.equal(sampleValue(exp, 'skiff_address_streams_open', labels), 0);
    }
  });

  test('routing: both sites known and reachable, adverts both ways, route changes', async () => {
    for (const exp of [await scrape(ma), await scrape(mb)]) {
      assert.equal(sampleValue(exp, 'skiff_routing_sites_known'), 2);
      assert.equal(sampleValue(exp, 'skiff_routing_sites_reachable'), 2);
      assert.equal(sampleValue(exp, 'skiff_routing_addresses'), 4, 'svc, down, echo and here');
      assert.ok(sampleValue(exp, 'skiff_routing_adverts_sent_total') >= 1);
      assert.ok(sampleValue(exp, 'skiff_routing_adverts_received_total', { result: 'news' }) >= 1);
      assert.equal(
        sampleValue(exp, 'skiff_routing_adverts_received_total', { result: 'refused' }),
        0,
      );
      assert.ok(sampleValue(exp, 'skiff_routing_route_changes_total') >= 2);
    }
  });

  test('names follow the Prometheus conventions, every series has the site, docs/metrics.md lists them', async () => {
    const docs = await readFile(new URL('../../../../docs/metrics.md', import.meta.url), 'utf8');
    const documented = new Set([...docs.matchAll(/^\| `(skiff_[a-z_]+)` \|/gm)].map((m) => m[1]!));
    for (const [router, metrics] of [
      [a, ma],
      [b, mb],
    ] as const) {
      const exp = await scrape(metrics);
      const families = [...exp.types.keys()];
      const ours = families.filter((f) => f.startsWith('skiff_'));
      assert.deepEqual(ours.sort(), [...documented].sort(), 'the families docs/metrics.md lists');
      for (const name of ours) {
        const type = exp.types.get(name);
        assert.match(name, /^skiff_[a-z]+(_[a-z]+)*$/);
        assert.ok(exp.helps.get(name), `${name} has a HELP`);
        assert.equal(name.endsWith('_total'), type === 'counter', `${name} is a ${type}`);
        assert.doesNotMatch(name, /_(ms|milliseconds|kb|kib|mb|mib|percent)(_|$)/, name);
        if (type === 'histogram') assert.match(name, /_seconds$/);
      }
      // Node's process metrics: all of prom-client's defaults but the GC histogram, whose
      // observer cost every collection ~55 us (src/metrics/process-metrics.ts).
      const defaults = new Registry();
      collectDefaultMetrics({ register: defaults });
      const expected = (await defaults.getMetricsAsJSON())
        .map((m) => m.name)
        .filter((name) => name !== 'nodejs_gc_duration_seconds');
      assert.ok(expected.includes('process_cpu_seconds_total'), 'prom-client still has its list');
      assert.deepEqual(
        families.filter((f) => !f.startsWith('skiff_')).sort(),
        expected.sort(),
        "prom-client's process metrics, less nodejs_gc_duration_seconds",
      );
      const site = router.metricsSource().siteName;
      for (const sample of exp.samples) {
        assert.equal(sample.labels.site, site, `${sample.name} has site=${site}`);
      }
    }
  });
});
