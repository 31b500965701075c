import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { ConnectorInfo, ListenerInfo } from '../../src/admin/api.js';
import { STATUS_CONFIGMAP, STATUS_KEY, type StatusDocument } from '../../src/kube/status-doc.js';
import { ControlPlane, controlPlaneUnavailable } from '../controlplane/controlplane.js';
import { PortTaken, withFreePort } from '../helpers/ports.js';
import { match } from '../helpers/router.js';
import {
  connect,
  patternDigest,
  receiveAll,
  sendPattern,
  startEchoServer,
  type TcpServer,
} from '../helpers/tcp.js';
import { Cleanup, pollUntil } from '../helpers/wait.js';
import { KubeRouter } from './kube-router.js';
import { manifests, recordManifest } from './records.js';
import { ok, type SiteNamespace, siteNamespace } from './site-namespace.js';

/**
 * The router on the kubernetes platform against a real kube-apiserver: a host process
 * authenticated as its namespace's ServiceAccount (a TokenRequest token), so RBAC checks
 * every call. The site is the namespace; records applied with kubectl take effect without
 * a restart; status is written back, bounded.
 */

const unavailable = controlPlaneUnavailable();
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const T = { timeout: 120_000 };

interface Meta {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  type?: string;
  data?: Record<string, string>;
}

function items(stdout: string): Meta[] {
  return (JSON.parse(stdout) as { items: Meta[] }).items;
}

describe('the router on kubernetes', { skip: unavailable ?? false, timeout: 900_000 }, () => {
  let cp: ControlPlane;
  let serial = 0;
  before(
    async () => {
      cp = await ControlPlane.start();
    },
    { timeout: 180_000 },
  );
  after(() => cp?.stop());

  /** A fresh namespace for the site, removed with the test's other things. */
  async function namespace(cleanup: Cleanup, rules?: Parameters<typeof siteNamespace>[2]) {
    const ns = await siteNamespace(cp, `site-${process.pid}-${++serial}`, rules);
    cleanup.add(() => ns.delete());
    return ns;
  }

  async function router(cleanup: Cleanup, ns: SiteNamespace, env?: NodeJS.ProcessEnv) {
    const r = await KubeRouter.started({ ns, ...(env ? { env } : {}) });
    cleanup.add(() => r.dispose());
    return r;
  }

  async function apply(ns: SiteNamespace, yaml: string): Promise<void> {
    ok(await ns.kubectl(['apply', '-f', '-'], yaml));
  }

  async function statusDoc(ns: SiteNamespace): Promise<{ doc: StatusDocument; bytes: number }> {
    const cm = JSON.parse(
      ok(await ns.kubectl(['get', 'configmap', STATUS_CONFIGMAP, '-o', 'json'])),
    ) as Meta;
    const text = cm.data?.[STATUS_KEY] ?? '';
    return { doc: JSON.parse(text) as StatusDocument, bytes: Buffer.byteLength(text) };
  }

  it(
    'creates the site in an empty namespace at its first start; a restart reopens it',
    T,
    async (t) => {
      const cleanup = new Cleanup();
      try {
        const ns = await namespace(cleanup);
        const r = await router(cleanup, ns);
        t.diagnostic(`first start (site created) to ready: ${Math.round(r.readyMs)} ms`);
        assert.equal(r.eventsSince(0, match('site created with defaults')).length, 1);

        const configmaps = items(
          ok(
            await ns.kubectl([
              'get',
              'configmaps',
              '-l',
              'app.kubernetes.io/managed-by=skiff',
              '-o',
              'json',
            ]),
          ),
        );
        const site = configmaps.find((c) => c.metadata.name === 'skiff-site');
        assert.ok(site, `no skiff-site: ${configmaps.map((c) => c.metadata.name).join(', ')}`);
        assert.equal(site.metadata.labels?.['skiff.dev/kind'], 'site');
        const record = parse(site.data?.['site.yaml'] ?? '') as { id: string; name: string };
        assert.equal(record.name, ns.name, 'the site is named after the namespace');
        const secrets = items(
          ok(await ns.kubectl(['get', 'secrets', '-l', 'skiff.dev/kind=key', '-o', 'json'])),
        );
        assert.deepEqual(secrets.map((s) => s.metadata.name).sort(), [
          'skiff-key-ca',
          'skiff-key-server',
        ]);
        for (const s of secrets) assert.equal(s.type, 'Opaque');
        assert.ok(
          configmaps.every((c) => !JSON.stringify(c.data ?? {}).includes('PRIVATE KEY')),
          'no key in a ConfigMap',
        );

        const status = await r.status();
        assert.equal(status.site.id, record.id);
        assert.equal(status.site.platform, 'kubernetes');
        assert.equal(status.site.linkUrl, `wss://127.0.0.1:${r.linkPort}/v1/link`);

        const stopped = await r.stop();
        assert.equal(stopped.code, 0, r.tail());
        const since = r.mark();
        await r.start();
        t.diagnostic(`restart (site reopened) to ready: ${Math.round(r.readyMs)} ms`);
        assert.equal(r.eventsSince(since, match('site created with defaults')).length, 0);
        const again = await r.status();
        assert.equal(again.site.id, record.id, 'the same site id');
        const siteAgain = JSON.parse(
          ok(await ns.kubectl(['get', 'configmap', 'skiff-site', '-o', 'json'])),
        ) as Meta;
        assert.equal(siteAgain.data?.['site.yaml'], site.data?.['site.yaml'], 'the same CA');
      } finally {
        await cleanup.run();
      }
    },
  );

  /**
   * Applies a listener record for `address` on a picked port and awaits its bind; a port
   * someone took since the pick makes the router retry, and the record is applied again on
   * another. Returns the port.
   */
  async function applyListener(ns: SiteNamespace, r: KubeRouter, address: string): Promise<number> {
    return withFreePort(async (port) => {
      const since = r.mark();
      await apply(
        ns,
        manifests(recordManifest('listener', address, { address, host: '127.0.0.1', port })),
      );
      const event = await r.waitForEvent(
        (e) =>
          (e.msg === 'listener bound' || e.msg === 'listener cannot bind; retrying') &&
          e.address === address &&
          e.port === port,
        { since },
      );
      if (event.msg !== 'listener bound') throw new PortTaken(port, String(event.err));
      return port;
    });
  }

  /**
   * 4 MiB each way through `port`: byte-exact by SHA-256 at both ends, and to `echo` (the
   * server the connector names now).
   */
  async function echoes(port: number, echo: TcpServer & { received: { sha256: string }[] }) {
    const bytes = 4 * 1024 * 1024;
    const seed = port;
    const socket = await connect(port);
    const [sent, got] = await Promise.all([sendPattern(socket, bytes, seed), receiveAll(socket)]);
    socket.destroy();
    assert.deepEqual(sent, patternDigest(bytes, seed));
    assert.deepEqual(got, sent, 'the echo came back byte-exact');
    await pollUntil('the echo server to report the stream', async () =>
      echo.received.some((x) => x.sha256 === sent.sha256),
    );
  }

  /** Resolves with how a connection to `port` ended: refused, or closed with no reply. */
  function refusedOrEmpty(port: number): Promise<'refused' | 'empty'> {
    return new Promise((resolve, reject) => {
      const socket = netConnect(port, '127.0.0.1');
      socket.once('error', (err: NodeJS.ErrnoException) =>
        err.code === 'ECONNREFUSED' ? resolve('refused') : reject(err),
      );
      socket.once('data', () => reject(new Error(`port ${port} answered`)));
      socket.once('end', () => {
        socket.destroy();
        resolve('empty');
      });
    });
  }

  it(
    'follows connector and listener records applied, changed and deleted with kubectl',
    T,
    async (t) => {
      const cleanup = new Cleanup();
      try {
        const ns = await namespace(cleanup);
        const r = await router(cleanup, ns);
        const echo = await startEchoServer();
        cleanup.add(() => echo.close());
        const other = await startEchoServer();
        cleanup.add(() => other.close());

        // A connector as a GitOps repository holds it: applied, it is served at once.
        let since = r.mark();
        const t0 = performance.now();
        await apply(
          ns,
          manifests(
            recordManifest('connector', 'echo', {
              address: 'echo',
              host: '127.0.0.1',
              port: echo.port,
            }),
          ),
        );
        const applied = performance.now();
        await r.waitForEvent(
          match('record applied', { kind: 'connector', address: 'echo', change: 'created' }),
          { since },
        );
        t.diagnostic(
          `kubectl apply of a connector to the router applying it: ${Math.round(performance.now() - t0)} ms (${Math.round(performance.now() - applied)} ms after kubectl returned)`,
        );
        const connectors = await r.json<ConnectorInfo[]>(['connector', 'list']);
        assert.deepEqual(
          connectors.map((c) => [c.address, c.host, c.port]),
          [['echo', '127.0.0.1', echo.port]],
        );

        const port = await applyListener(ns, r, 'echo');
        const listeners = await r.json<ListenerInfo[]>(['listener', 'list']);
        assert.deepEqual(
          listeners.map((l) => [l.address, l.port, l.state]),
          [['echo', port, 'bound']],
        );
          await echoes(port, echo);

        // Changed: the connector now points at the other server.
        since = r.mark();
        await apply(
          ns,
          manifests(
            recordManifest('connector', 'echo', {
              address: 'echo',
              host: '127.0.0.1',
              port: other.port,
            }),
          ),
        );
        await r.waitForEvent(
          match('record applied', { kind: 'connector', address: 'echo', change: 'changed' }),
          { since },
        );
          await echoes(port, other);

        // The listener moves to another port: the old one is let go.
        const moved = await applyListener(ns, r, 'echo');
        assert.notEqual(moved, port);
        await echoes(moved, other);
        assert.equal(await refusedOrEmpty(port), 'refused');

        // Deleted: no connector, so the listener closes clients at once; then no listener.
        since = r.mark();
        ok(await ns.kubectl(['delete', 'configmap', 'skiff-connector-echo']));
        await r.waitForEvent(
          match('record applied', { kind: 'connector', address: 'echo', change: 'deleted' }),
          { since },
        );
        assert.equal(await refusedOrEmpty(moved), 'empty');
        assert.equal((await r.json<ListenerInfo[]>(['listener', 'list']))[0]?.state, 'no-route');
        since = r.mark();
        ok(await ns.kubectl(['delete', 'configmap', 'skiff-listener-echo']));
        await r.waitForEvent(
          match('record applied', { kind: 'listener', address: 'echo', change: 'deleted' }),
          { since },
        );
        assert.equal(await refusedOrEmpty(moved), 'refused');
        assert.deepEqual(await r.json<ListenerInfo[]>(['listener', 'list']), []);
        assert.deepEqual(await r.json<ConnectorInfo[]>(['connector', 'list']), []);
        assert.equal(r.running, true, 'the same process all along');
      } finally {
        await cleanup.run();
      }
    },
  );

  it("does not take the router's own writes for changes", T, async () => {
    const cleanup = new Cleanup();
    try {
      const ns = await namespace(cleanup);
      const r = await router(cleanup, ns);
      const since = r.mark();
      const target = ['--target', '127.0.0.1:9'];
      for (const args of [
        ['expose', 'api', ...target],
        ['connector', 'update', 'api', '--target', '127.0.0.1:10'],
        ['connector', 'update', 'api', '--target', '127.0.0.1:11'],
        ['expose', 'web', ...target],
        ['unexpose', 'web'],
      ]) {
        const result = await r.cli(args);
        assert.equal(result.code, 0, `${result.command}: ${result.stderr}`);
      }
      // The record is in the namespace, as the router wrote it.
      const cm = JSON.parse(
        ok(await ns.kubectl(['get', 'configmap', 'skiff-connector-api', '-o', 'json'])),
      ) as Meta;
      assert.deepEqual(parse(cm.data?.['connector.yaml'] ?? ''), {
        address: 'api',
        host: '127.0.0.1',
        port: 11,
      });
      // A watch delivers changes in order: once a later change made by someone else has
      // been applied, the watch has passed every one of the router's own.
      await apply(
        ns,
        manifests(
          recordManifest('connector', 'sentinel', {
            address: 'sentinel',
            host: '127.0.0.1',
            port: 9,
          }),
        ),
      );
      await r.waitForEvent(match('record applied', { address: 'sentinel' }), { since });
      const echoed = r.eventsSince(
        since,
        (e) => e.msg === 'record applied' && e.address !== 'sentinel',
      );
      assert.deepEqual(echoed, [], 'no own write came back as a change');
      assert.deepEqual(
        (await r.json<ConnectorInfo[]>(['connector', 'list'])).map((c) => [c.address, c.port]),
        [
          ['api', 11],
          ['sentinel', 9],
        ],
      );
    } finally {
      await cleanup.run();
    }
  });
});
