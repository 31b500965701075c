import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { ConnectorInfo, ListenerInfo } from '../../src/admin/api.js';
import { STATUS_CONFIGMAP, STATUS_KEY, type StatusDocument } from '../../src/kube/status-doc.js';
import { ControlPlane, controlPlaneUnavailable } from '../controlplane/controlplane.js';
import { createListener } from '../helpers/listeners.js';
import { PortTaken, withFreePort } from '../helpers/ports.js';
import { match, RouterProcess } from '../helpers/router.js';
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
import { ok, rulesWithout, type SiteNamespace, siteNamespace } from './site-namespace.js';

/** Calls `onWrite` for every write of the namespace's skiff-status seen by a watch; returns a stop. */
async function watchStatus(
  cp: ControlPlane,
  namespace: string,
  onWrite: () => void,
): Promise<() => void> {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  const controller = await new Watch(kc).watch(
    `/api/v1/namespaces/${namespace}/configmaps`,
    { fieldSelector: `metadata.name=${STATUS_CONFIGMAP}` },
    (type: string) => {
      if (type === 'MODIFIED') onWrite();
    },
    () => undefined,
  );
  return () => controller.abort();
}

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

  it(
    'reports a malformed record at warn and in status, goes on, and applies its fix',
    T,
    async () => {
      const cleanup = new Cleanup();
      try {
        const ns = await namespace(cleanup);
        const r = await router(cleanup, ns);
        const good = { address: 'good', host: '127.0.0.1', port: 7001 };
        let since = r.mark();
        await apply(ns, manifests(recordManifest('connector', 'good', good)));
        await r.waitForEvent(match('record applied', { address: 'good' }), { since });

        since = r.mark();
        const bad: [string, Record<string, unknown>, RegExp][] = [
          [
            'skiff-connector-yaml',
            recordManifest('connector', 'yaml', 'address: [unclosed'),
            /invalid YAML/,
          ],
          [
            'skiff-connector-port',
            recordManifest('connector', 'port', {
              address: 'port',
              host: '127.0.0.1',
              port: 70000,
            }),
            /"port"/,
          ],
          [
            'skiff-connector-foo',
            recordManifest('connector', 'foo', { address: 'bar', host: '127.0.0.1', port: 1 }),
            /not the record's name "foo"/,
          ],
          [
            'my-connector',
            recordManifest(
              'connector',
              'x',
              { address: 'x', host: '127.0.0.1', port: 1 },
              'my-connector',
            ),
            /not named skiff-connector-<name>/,
          ],
          // A good record turned bad: what runs stays as it was.
          [
            'skiff-connector-good',
            recordManifest('connector', 'good', { ...good, port: 'many' }),
            /"port"/,
          ],
        ];
        await apply(ns, manifests(...bad.map(([, m]) => m)));
        for (const [object, , reason] of bad) {
          const event = await r.waitForEvent(
            (e) =>
              e.msg === 'bad state record skipped' &&
              String(e.where) === `configmaps "${object}" in namespace ${ns.name}`,
            { since },
          );
          assert.equal(event.level, 40, 'logged at warn');
          assert.match(String(event.err), reason, object);
        }
        const status = await r.status();
        assert.deepEqual(
          status.problems.map((p) => p.where).sort(),
          bad.map(([o]) => `configmaps "${o}" in namespace ${ns.name}`).sort(),
        );
        assert.deepEqual(
          status.connectors.map((c) => [c.address, c.port]),
          [['good', 7001]],
          'the bad records are skipped; the last good one of "good" still runs',
        );
        const { doc } = await pollUntil('skiff-status to list the rejected records', async () => {
          const s = await statusDoc(ns);
          return s.doc.problems.total === bad.length && s;
        });
        assert.deepEqual(
          doc.problems.items.map((p) => p.where),
          status.problems.map((p) => p.where),
        );
        assert.ok(doc.problems.items.every((p) => p.problem.startsWith(p.where)));

        // Fixed, each takes effect; deleted, the rejected object's problem goes too.
        since = r.mark();
        await apply(
          ns,
          manifests(
            recordManifest('connector', 'yaml', { address: 'yaml', host: '127.0.0.1', port: 7002 }),
            recordManifest('connector', 'good', { ...good, port: 7003 }),
          ),
        );
        ok(await ns.kubectl(['delete', 'configmap', 'my-connector', 'skiff-connector-foo']));
        await r.waitForEvent(match('record applied', { address: 'yaml', change: 'created' }), {
          since,
        });
        await r.waitForEvent(match('record applied', { address: 'good', change: 'changed' }), {
          since,
        });
        await pollUntil('the fixed and deleted records to leave status', async () => {
          const s = await r.status();
          return s.problems.length === 1 && s.problems[0]!.where.includes('skiff-connector-port');
        });
        assert.deepEqual(
          (await r.status()).connectors.map((c) => [c.address, c.port]),
          [
            ['good', 7003],
            ['yaml', 7002],
          ],
        );
        assert.equal(r.running, true, 'never fatal');
      } finally {
        await cleanup.run();
      }
    },
  );

  it(
    'refuses to start, naming the verb and resource, when the Role lacks a rule it needs',
    T,
    async () => {
      const cleanup = new Cleanup();
      try {
        for (const [resource, verb, says] of [
          [
            'configmaps',
            'watch',
            /the Kubernetes API refused to watch configmaps in namespace (\S+):/,
          ],
          [
            'secrets',
            'create',
            /the Kubernetes API refused to create secrets "skiff-key-ca" in namespace (\S+):/,
          ],
          // The proxy Services (decision 0023): a router that cannot follow them does not start.
          ['services', 'list', /the Kubernetes API refused to list services in namespace (\S+):/],
          // The CLI's requests (decision 0024): a router that cannot see them must not start.
          ['secrets', 'list', /the Kubernetes API refused to list secrets in namespace (\S+):/],
        ] as const) {
          const ns = await namespace(cleanup, rulesWithout(resource, verb));
          const r = await KubeRouter.create({ ns, globalArgs: ['-o', 'json'] });
          cleanup.add(() => r.dispose());
          const { code, stderr } = await r.runToExit();
          assert.notEqual(code, 0);
          const line = stderr.split('\n').find((l) => l.startsWith('{"error"'));
          assert.ok(line, `no error document on stderr:\n${stderr}`);
          const { error } = JSON.parse(line) as { error: { code: string; message: string } };
          assert.equal(error.code, 'SKIFF_ERR_FORBIDDEN', error.message);
          assert.equal(says.exec(error.message)?.[1], ns.name, error.message);
          assert.match(error.message, /Role/);
        }
      } finally {
        await cleanup.run();
      }
    },
  );

  it('writes skiff-status at most once a second, bounded however many addresses', T, async (t) => {
    const cleanup = new Cleanup();
    try {
      const ns = await namespace(cleanup);
      const r = await router(cleanup, ns);
      await pollUntil(
        'the first status',
        async () => (await statusDoc(ns).catch(() => undefined)) !== undefined,
      );
      const writes: number[] = [];
      const stopWatching = await watchStatus(cp, ns.name, () => writes.push(performance.now()));
      cleanup.add(stopWatching);

      // Names as long as an address may be, hosts longer: 400 of them outgrow the bound.
      const count = 400;
      const host = `${'h'.repeat(60)}.${'o'.repeat(60)}.${'s'.repeat(60)}.example`;
      const address = (i: number) => `a${String(i).padStart(4, '0')}-${'x'.repeat(57)}`;
      const since = r.mark();
      const t0 = performance.now();
      await apply(
        ns,
        manifests(
          ...Array.from({ length: count }, (_, i) =>
            recordManifest('connector', address(i), { address: address(i), host, port: 1000 + i }),
          ),
        ),
      );
      const kubectlMs = performance.now() - t0;
      await r.waitForEvent(match('record applied', { address: address(count - 1) }), {
        since,
        timeoutMs: 60_000,
      });
      t.diagnostic(
        `${count} connectors in one kubectl apply: kubectl took ${Math.round(kubectlMs)} ms, the last was applied ${Math.round(performance.now() - t0)} ms after the start`,
      );
      const { doc, bytes } = await pollUntil(
        'skiff-status to count every connector',
        async () => {
          const s = await statusDoc(ns);
          return s.doc.connectors.total === count && s.doc.addresses.total === count && s;
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      t.diagnostic(
        `status: ${bytes} bytes; connectors ${doc.connectors.items.length} + ${doc.connectors.more ?? 0} more, addresses ${doc.addresses.items.length} + ${doc.addresses.more ?? 0} more`,
      );
      assert.ok(bytes <= 128 * 1024, `${bytes} bytes`);
      assert.ok(bytes < 256 * 1024);
      assert.ok(
        (doc.connectors.more ?? 0) > 0,
        'the longest list is cut, with a count of the rest',
      );
      for (const section of [doc.connectors, doc.addresses, doc.listeners, doc.links]) {
        assert.equal(section.items.length + (section.more ?? 0), section.total);
      }
      assert.equal(doc.connectors.items[0]?.address, address(0), 'sorted by name');
      assert.deepEqual(doc.site.name, ns.name);
      assert.equal(doc.watch.state, 'watching');
      assert.equal(doc.router.state, 'running');

      const gaps = writes.slice(1).map((at, i) => at - writes[i]!);
      t.diagnostic(
        `${writes.length} status writes seen; shortest gap ${Math.round(Math.min(...gaps))} ms`,
      );
      assert.ok(writes.length >= 2, 'the burst was written more than once');
      assert.ok(
        writes.length <= Math.ceil((performance.now() - t0) / 1000) + 2,
        String(writes.length),
      );
      // Writes start at least a second apart; their events may arrive a little closer.
      for (const gap of gaps)
        assert.ok(gap >= 800, `two status writes ${Math.round(gap)} ms apart`);

      await r.stop();
      assert.equal((await statusDoc(ns)).doc.router.state, 'stopped', 'the last write says so');
    } finally {
      await cleanup.run();
    }
  });

  it(
    'takes settings from the skiff-settings ConfigMap and its name from SKIFF_SITE_NAME',
    T,
    async () => {
      const cleanup = new Cleanup();
      try {
        const ns = await namespace(cleanup);
        const settings = (value: unknown) => ({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'skiff-settings' },
          data: { 'settings.json': JSON.stringify(value) },
        });
        await apply(ns, manifests(settings({ drainTimeoutMs: 1234, maxStreamsPerLink: 77 })));
        const r = await router(cleanup, ns, { SKIFF_SITE_NAME: 'harbour' });
        const dump = JSON.parse((await r.cli(['debug', 'dump', '-'])).stdout) as {
          settings: Record<string, number>;
          status: { site: { name: string } };
        };
        assert.equal(dump.settings.drainTimeoutMs, 1234);
        assert.equal(dump.settings.maxStreamsPerLink, 77);
        assert.equal(dump.status.site.name, 'harbour');
        await r.stop();

        await apply(ns, manifests(settings({ drainTimeoutMs: 1234, nope: 1 })));
        const { code, stderr } = await r.runToExit();
        assert.notEqual(code, 0);
        const line = stderr.split('\n').find((l) => l.startsWith('skiff: '));
        assert.match(
          line ?? stderr,
          new RegExp(
            `^skiff: configmaps "skiff-settings" in namespace ${ns.name}: unknown setting "nope"`,
          ),
        );
      } finally {
        await cleanup.run();
      }
    },
  );

  it('serves a local-platform site linked to it a connector applied with kubectl', T, async (t) => {
    const cleanup = new Cleanup();
    try {
      const ns = await namespace(cleanup);
      const k = await router(cleanup, ns);
      const west = await RouterProcess.started({ name: 'west' });
      cleanup.add(() => west.dispose());
      const dir = await mkdtemp(join(tmpdir(), 'skiff-kube-token-'));
      cleanup.add(() => rm(dir, { recursive: true, force: true }));
      const token = join(dir, 'west.yaml');
      const issued = await k.cli(['token', 'create', token]);
      assert.equal(issued.code, 0, issued.stderr);
      const linked = await west.cli(['link', 'create', token, '--name', 'to-kube']);
      assert.equal(linked.code, 0, linked.stderr);

      const echo = await startEchoServer();
      cleanup.add(() => echo.close());
      const t0 = performance.now();
      await apply(
        ns,
        manifests(
          recordManifest('connector', 'api', {
            address: 'api',
            host: '127.0.0.1',
            port: echo.port,
          }),
        ),
      );
      const { port } = await createListener(west, 'api', { args: ['--wait'] });
      t.diagnostic(
        `kubectl apply to a bound listener at the linked site: ${Math.round(performance.now() - t0)} ms`,
      );
      const bytes = 8 * 1024 * 1024;
      const socket = await connect(port);
      const [sent, got] = await Promise.all([sendPattern(socket, bytes, 11), receiveAll(socket)]);
      socket.destroy();
      assert.deepEqual(got, sent, '8 MiB each way, byte-exact');
      await pollUntil('the echo server to hash the stream', async () =>
        echo.received.some((x) => x.sha256 === sent.sha256),
      );

      // A status written before the connector was applied may already show the link up with
      // its RTT (one write a second at most): wait for one that has both.
      const { doc } = await pollUntil(
        'skiff-status to show the link with its RTT and the address',
        async () => {
          const s = await statusDoc(ns);
          const link = s.doc.links.items[0];
          const served = s.doc.addresses.items.some((a) => a.address === 'api');
          return link?.state === 'up' && link.rttMs !== undefined && served && s;
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      assert.equal(doc.links.items[0]?.direction, 'in');
      assert.equal(doc.links.items[0]?.peerSiteName, 'west');
      assert.deepEqual(doc.addresses.items, [{ address: 'api', sites: [ns.name] }]);
    } finally {
      await cleanup.run();
    }
  });
});
