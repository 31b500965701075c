import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig, type V1Service, Watch } from '@kubernetes/client-node';
import type { ConnectorInfo } from '../../src/admin/api.js';
import { PROXY_PORT_COUNT, PROXY_PORT_FIRST } from '../../src/kube/proxy-ports.js';
import { STATUS_CONFIGMAP, STATUS_KEY, type StatusDocument } from '../../src/kube/status-doc.js';
import { ControlPlane, controlPlaneUnavailable } from '../controlplane/controlplane.js';
import { match } from '../helpers/router.js';
import { connect, outcome, receiveAll, sendPattern, startEchoServer } from '../helpers/tcp.js';
import { Cleanup, pollUntil, withTimeout } from '../helpers/wait.js';
import { KubeRouter } from './kube-router.js';
import { manifests, recordManifest } from './records.js';
import { ok, type SiteNamespace, siteNamespace } from './site-namespace.js';

/**
 * Proxy Services (decision 0023) on a real kube-apiserver: two sites, each a namespace with
 * its router (a host process as its ServiceAccount, so RBAC checks every call), linked by a
 * token. An address exposed at one gets a Service of its name at every site, with the
 * exposing site's port, selecting the router pod, owned by the site record; the router
 * listens on its target port. A Service that is not skiff's is never touched, and a
 * router restart adopts its Services without writing them.
 */

const unavailable = controlPlaneUnavailable();
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const T = { timeout: 180_000 };

/** A Deployment whose pod never runs (no kubelet on this control plane): no ready pod. */
const NEVER_READY_WEB = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'web' }] },
    },
  },
};
/** The grace these tests give a gone address, so unexpose is seen in seconds. */
const GRACE_MS = 2000;
const ROUTER_SELECTOR = {
  'app.kubernetes.io/name': 'skiff',
  'app.kubernetes.io/component': 'router',
};

interface ServiceEvent {
  type: string;
  name: string;
  uid: string;
  resourceVersion: string;
  at: number;
}

/**
 * Every ADDED, MODIFIED and DELETED of the namespace's Services from now on, as a watch
 * from a list's resourceVersion delivers them (so what exists already is not an event).
 */
class ServiceEvents {
  readonly events: ServiceEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private abort: (() => void) | undefined;

  static async start(kc: KubeConfig, namespace: string): Promise<ServiceEvents> {
    const events = new ServiceEvents();
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedService({ namespace });
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/services`,
      { resourceVersion: list.metadata?.resourceVersion },
      (type: string, svc: V1Service) => {
        events.events.push({
          type,
          name: svc.metadata?.name ?? '',
          uid: svc.metadata?.uid ?? '',
          resourceVersion: svc.metadata?.resourceVersion ?? '',
          at: performance.now(),
        });
        for (const wake of events.waiters) wake();
      },
      () => undefined,
    );
    events.abort = () => controller.abort();
    return events;
  }

  of(name: string, since = 0): ServiceEvent[] {
    return this.events.slice(since).filter((e) => e.name === name);
  }

  async waitFor(
    name: string,
    type: string,
    since: number,
    timeoutMs = 30_000,
  ): Promise<ServiceEvent> {
    let wake!: () => void;
    const found = new Promise<ServiceEvent>((resolve) => {
      wake = () => {
        const event = this.of(name, since).find((e) => e.type === type);
        if (event) resolve(event);
      };
      this.waiters.add(wake);
      wake();
    });
    try {
      return await withTimeout(found, timeoutMs, `${type} of services "${name}"`);
    } finally {
      this.waiters.delete(wake);
    }
  }

  stop(): void {
    this.abort?.();
  }
}

describe('proxy Services on kubernetes', { skip: unavailable ?? false, timeout: 900_000 }, () => {
  let cp: ControlPlane;
  let admin: KubeConfig;
  let core: CoreV1Api;
  let serial = 0;
  before(
    async () => {
      cp = await ControlPlane.start();
      admin = new KubeConfig();
      admin.loadFromFile(cp.adminKubeconfig);
      core = admin.makeApiClient(CoreV1Api);
    },
    { timeout: 180_000 },
  );
  after(() => cp?.stop());

  /** `kubectl apply` of the objects in the namespace, as the cluster admin. */
  async function apply(ns: SiteNamespace, ...objects: Record<string, unknown>[]): Promise<void> {
    ok(await ns.kubectl(['apply', '-f', '-'], manifests(...objects)));
  }

  async function namespace(
    cleanup: Cleanup,
    label: string,
    graceMs = GRACE_MS,
  ): Promise<SiteNamespace> {
    const ns = await siteNamespace(cp, `${label}-${process.pid}-${++serial}`);
    cleanup.add(() => ns.delete());
    await apply(ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'skiff-settings' },
      data: { 'settings.json': JSON.stringify({ proxyServiceGraceMs: graceMs }) },
    });
    return ns;
  }

  async function router(cleanup: Cleanup, ns: SiteNamespace): Promise<KubeRouter> {
    const r = await KubeRouter.started({ ns });
    cleanup.add(() => r.dispose());
    return r;
  }

  /** Two sites, `west` linked to `east` by a token east issued; resolves with the link up. */
  async function linkedSites(cleanup: Cleanup, graceMs = GRACE_MS) {
    const eastNs = await namespace(cleanup, 'east', graceMs);
    const westNs = await namespace(cleanup, 'west', graceMs);
    const east = await router(cleanup, eastNs);
    const west = await router(cleanup, westNs);
    const dir = await mkdtemp(join(tmpdir(), 'skiff-proxy-token-'));
    cleanup.add(() => rm(dir, { recursive: true, force: true }));
    const token = join(dir, 'token.yaml');
    const issued = await east.cli(['token', 'create', token]);
    assert.equal(issued.code, 0, issued.stderr);
    const linked = await west.cli(['link', 'create', token, '--name', 'to-east']);
    assert.equal(linked.code, 0, linked.stderr);
    await linkUp(west);
    return { eastNs, westNs, east, west };
  }

  async function linkUp(r: KubeRouter): Promise<void> {
    await pollUntil(
      `the link of ${r.ns.name} to be up`,
      async () => (await r.status()).links.some((l) => l.state === 'up'),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }

  async function expose(ns: SiteNamespace, address: string, record: Record<string, unknown>) {
    await apply(ns, recordManifest('connector', address, { address, ...record }));
  }

  async function unexpose(ns: SiteNamespace, address: string): Promise<void> {
    ok(await ns.kubectl(['delete', 'configmap', `skiff-connector-${address}`]));
  }

  async function service(ns: SiteNamespace, name: string): Promise<V1Service | undefined> {
    try {
      return await core.readNamespacedService({ name, namespace: ns.name });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  async function siteUid(ns: SiteNamespace): Promise<string> {
    const cm = await core.readNamespacedConfigMap({ name: 'skiff-site', namespace: ns.name });
    return cm.metadata!.uid!;
  }

  /** `bytes` each way through the router port, byte-exact by SHA-256 at both ends. */
  async function streamThrough(
    port: number,
    bytes: number,
    echo: { received: { sha256: string }[] },
  ) {
    const socket = await connect(port);
    const [sent, got] = await Promise.all([sendPattern(socket, bytes, port), receiveAll(socket)]);
    socket.destroy();
    assert.deepEqual(got, sent, `${bytes} bytes each way, byte-exact`);
    await pollUntil('the echo server to hash the stream', async () =>
      echo.received.some((x) => x.sha256 === sent.sha256),
    );
  }

  async function statusDoc(ns: SiteNamespace): Promise<StatusDocument> {
    const cm = await core.readNamespacedConfigMap({ name: STATUS_CONFIGMAP, namespace: ns.name });
    return JSON.parse(cm.data?.[STATUS_KEY] ?? '') as StatusDocument;
  }

  it(
    'an exposed address gets a proxy Service at every site, with its port, selecting the router pod, owned by the site; unexpose removes it after the grace',
    T,
    async (t) => {
      const cleanup = new Cleanup();
      try {
        const { eastNs, westNs, east, west } = await linkedSites(cleanup);
        const events = await ServiceEvents.start(admin, westNs.name);
        cleanup.add(() => events.stop());
        const echo = await startEchoServer();
        cleanup.add(() => echo.close());

        let since = events.events.length;
        const t0 = performance.now();
        await expose(eastNs, 'api', { host: '127.0.0.1', port: echo.port });
        const applied = performance.now();
        const added = await events.waitFor('api', 'ADDED', since);
        t.diagnostic(
          `kubectl apply of a connector to its proxy Service at the linked site: ${Math.round(added.at - t0)} ms (${Math.round(added.at - applied)} ms after kubectl returned)`,
        );

        const svc = (await service(westNs, 'api'))!;
        assert.deepEqual(svc.metadata?.labels, {
          'app.kubernetes.io/managed-by': 'skiff',
          'skiff.dev/kind': 'proxy',
        });
        assert.deepEqual(
          svc.metadata?.ownerReferences?.map((o) => [o.apiVersion, o.kind, o.name, o.uid]),
          [['v1', 'ConfigMap', 'skiff-site', await siteUid(westNs)]],
        );
        assert.equal(svc.spec?.type, 'ClusterIP');
        assert.deepEqual(svc.spec?.selector, ROUTER_SELECTOR);
        const [port] = svc.spec?.ports ?? [];
        assert.equal(svc.spec?.ports?.length, 1);
        assert.equal(port?.port, echo.port, "the exposing site's port");
        assert.equal(port?.protocol, 'TCP');
        const routerPort = port?.targetPort as number;
        assert.ok(
          routerPort >= PROXY_PORT_FIRST && routerPort < PROXY_PORT_FIRST + PROXY_PORT_COUNT,
          `target port ${routerPort} is a router port`,
        );
        // The exposing site has one too (every site does).
        const own = await pollUntil('the proxy Service at the exposing site', () =>
          service(eastNs, 'api'),
        );
        assert.equal(own.spec?.ports?.[0]?.port, echo.port);

        // What the Service's endpoints (the router pod) would be sent: the router port.
        await streamThrough(routerPort, 8 * 1024 * 1024, echo);

        // Edited by hand: put back as the router wants it, not recreated.
        since = events.events.length;
        ok(
          await westNs.kubectl([
            'patch',
            'service',
            'api',
            '--type=merge',
            '-p',
            JSON.stringify({ spec: { selector: { app: 'someone-else' } } }),
          ]),
        );
        await pollUntil('the router to restore the selector', async () => {
          const now = await service(westNs, 'api');
          return now?.spec?.selector?.app === undefined && now;
        });
        assert.equal((await service(westNs, 'api'))?.metadata?.uid, svc.metadata?.uid);
        assert.deepEqual(
          events.of('api', since).map((e) => e.type),
          ['MODIFIED', 'MODIFIED'],
          'the edit, then the fix',
        );

        // Deleted by hand: made again.
        since = events.events.length;
        ok(await westNs.kubectl(['delete', 'service', 'api']));
        await events.waitFor('api', 'ADDED', since);

        // Unexposed: gone from both sites once the grace has passed.
        since = events.events.length;
        const u0 = performance.now();
        await unexpose(eastNs, 'api');
        const deleted = await events.waitFor('api', 'DELETED', since, GRACE_MS + 30_000);
        t.diagnostic(
          `unexpose to the proxy Service deleted at the linked site: ${Math.round(deleted.at - u0)} ms (grace ${GRACE_MS} ms)`,
        );
        assert.ok(deleted.at - u0 >= GRACE_MS - 50, 'not before the grace');
        await pollUntil(
          'the exposing site to delete its own',
          async () => (await service(eastNs, 'api')) === undefined,
        );
        const refused = await connect(routerPort).then(
          (s) => outcome(s).then(() => 'connected'),
          () => 'refused',
        );
        assert.equal(refused, 'refused', 'the router port is let go');
        assert.equal(west.running && east.running, true);
      } finally {
        await cleanup.run();
      }
    },
  );

  it('a connector naming a deployment reaches it through KubeTargets', T, async () => {
    const cleanup = new Cleanup();
    try {
      const { eastNs, westNs, east } = await linkedSites(cleanup);
      await apply(eastNs, NEVER_READY_WEB);
      await expose(eastNs, 'web', { workload: 'deployment/web', port: 8080 });
      const svc = await pollUntil('the proxy Service web at the linked site', () =>
        service(westNs, 'web'),
      );
      assert.equal(svc.spec?.ports?.[0]?.port, 8080);
      // Refused cleanly: the router ends the client's stream (a FIN) with nothing sent.
      const socket = await connect(svc.spec?.ports?.[0]?.targetPort as number);
      const end = await withTimeout(outcome(socket), 30_000, 'the stream to be refused');
      socket.destroy();
      assert.deepEqual([end.sawEnd, end.bytes], [true, 0], 'no pod answered');
      const connector = await pollUntil('the connector to show why', async () => {
        const [c] = await east.json<ConnectorInfo[]>(['connector', 'list']);
        return c?.state === 'failing' && c;
      });
      assert.match(connector.error ?? '', /deployment\/web has no ready pod \(0 of 1 ready/);
    } finally {
      await cleanup.run();
    }
  });

  it(
    'with no ready pod at the nearest site, new connections fail over to the next site serving the address',
    T,
    async () => {
      const cleanup = new Cleanup();
      try {
        const { eastNs, westNs, east, west } = await linkedSites(cleanup);
        // north links to east too: from west, east is one hop (cost 1), north two (cost 2).
        const northNs = await namespace(cleanup, 'north');
        const north = await router(cleanup, northNs);
        const dir = await mkdtemp(join(tmpdir(), 'skiff-proxy-token-'));
        cleanup.add(() => rm(dir, { recursive: true, force: true }));
        const token = join(dir, 'north.yaml');
        assert.equal((await east.cli(['token', 'create', token])).code, 0);
        const linked = await north.cli(['link', 'create', token, '--name', 'to-east']);
        assert.equal(linked.code, 0, linked.stderr);
        await linkUp(north);
        await apply(eastNs, NEVER_READY_WEB);
        await expose(eastNs, 'web', { workload: 'deployment/web', port: 8080 });
        const echo = await startEchoServer();
        cleanup.add(() => echo.close());
        await expose(northNs, 'web', { host: '127.0.0.1', port: echo.port });
        await pollUntil('west to know both sites serving web', async () => {
          const web = (await west.status()).addresses.find((a) => a.address === 'web');
          return web !== undefined && web.sites.length === 2;
        });
        const svc = await pollUntil('the proxy Service web at west', () => service(westNs, 'web'));
        const port = svc.spec?.ports?.[0]?.targetPort as number;
        for (let i = 0; i < 5; i++) await streamThrough(port, 256 * 1024, echo);
        await pollUntil(
          'every connection to have reached north',
          async () => echo.received.length === 5,
        );
        const [connector] = await east.json<ConnectorInfo[]>(['connector', 'list']);
        assert.equal(connector?.state, 'failing', 'east was tried first and refused');
        assert.match(connector?.error ?? '', /deployment\/web has no ready pod/);
      } finally {
        await cleanup.run();
      }
    },
  );

  it(
    "leaves a Service that is not skiff's byte-for-byte untouched and shows the clash",
    T,
    async () => {
      const cleanup = new Cleanup();
      try {
        const { eastNs, westNs, west } = await linkedSites(cleanup);
        await apply(westNs, {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: {
            name: 'db',
            labels: { app: 'db', 'app.kubernetes.io/managed-by': 'skiff' },
            annotations: { owner: 'the db team' },
          },
          spec: { selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] },
        });
        const before = JSON.stringify(await service(westNs, 'db'));
        const events = await ServiceEvents.start(admin, westNs.name);
        cleanup.add(() => events.stop());
        const since = west.mark();
        await expose(eastNs, 'db', { host: '127.0.0.1', port: 5432 });
        const problem = await pollUntil('the clash in status', async () =>
          (await west.status()).problems.find((p) => p.kind === 'service' && p.name === 'db'),
        );
        assert.equal(problem.where, `services "db" in namespace ${westNs.name}`);
        assert.match(problem.problem, /exists and is not skiff's/);
        await pollUntil('the clash in skiff-status', async () =>
          (await statusDoc(westNs)).problems.items.some((p) => p.name === 'db'),
        );
        // More routing changes: each runs a pass; the clash is logged once all the same.
        await expose(eastNs, 'other', { host: '127.0.0.1', port: 1 });
        await pollUntil('the proxy Service other', () => service(westNs, 'other'));
        assert.equal(
          west.eventsSince(
            since,
            match('proxy Service name taken by another Service; left untouched'),
          ).length,
          1,
        );
        assert.equal(JSON.stringify(await service(westNs, 'db')), before, 'byte-for-byte');

        // Unexposed, with `other`: once other's Service has gone (the grace has passed), db
        // is still there, still untouched, and no clash is left.
        const gone = events.events.length;
        await unexpose(eastNs, 'db');
        await unexpose(eastNs, 'other');
        await pollUntil(
          'the clash to go',
          async () => !(await west.status()).problems.some((p) => p.name === 'db'),
        );
        await events.waitFor('other', 'DELETED', gone, GRACE_MS + 30_000);
        assert.equal(JSON.stringify(await service(westNs, 'db')), before, 'byte-for-byte');
        assert.deepEqual(events.of('db'), [], 'never written');
      } finally {
        await cleanup.run();
      }
    },
  );

  it(
    'a restarted router adopts its Services as they are: no delete, no write; deleting the site collects them',
    T,
    async (t) => {
      const cleanup = new Cleanup();
      try {
        const { eastNs, westNs, west } = await linkedSites(cleanup);
        const echo = await startEchoServer();
        cleanup.add(() => echo.close());
        await expose(eastNs, 'api', { host: '127.0.0.1', port: echo.port });
        const svc = await pollUntil('the proxy Service api', () => service(westNs, 'api'));
        const routerPort = svc.spec?.ports?.[0]?.targetPort as number;
        await streamThrough(routerPort, 1024 * 1024, echo);
        const events = await ServiceEvents.start(admin, westNs.name);
        cleanup.add(() => events.stop());

        const stopped = await west.stop();
        assert.equal(stopped.code, 0, west.tail());
        assert.deepEqual(await service(westNs, 'api'), svc, 'a stop leaves it');
        const r0 = performance.now();
        await west.start();
        await linkUp(west);
        await pollUntil('the router port to serve again', async () =>
          connect(routerPort).then(
            (s) => {
              s.destroy();
              return true;
            },
            () => false,
          ),
        );
        t.diagnostic(
          `restart to the router port serving again: ${Math.round(performance.now() - r0)} ms`,
        );
        await streamThrough(routerPort, 1024 * 1024, echo);
        const after = await service(westNs, 'api');
        assert.equal(after?.metadata?.uid, svc.metadata?.uid, 'the same Service');
        assert.equal(
          after?.metadata?.resourceVersion,
          svc.metadata?.resourceVersion,
          'not written',
        );
        assert.deepEqual(events.of('api'), [], 'no event for it at all');

        // The site deleted (its state, as uninstalling does): the garbage collector takes the
        // Services it owns.
        assert.equal((await west.stop()).code, 0, west.tail());
        const g0 = performance.now();
        ok(
          await westNs.kubectl([
            'delete',
            'configmaps,secrets',
            '-l',
            'app.kubernetes.io/managed-by=skiff',
          ]),
        );
        await events.waitFor('api', 'DELETED', 0);
        t.diagnostic(
          `site state deleted to its proxy Service collected: ${Math.round(performance.now() - g0)} ms`,
        );
      } finally {
        await cleanup.run();
      }
    },
  );

  it('keeps the Service while the exposing site is away for less than the grace', T, async (t) => {
    const cleanup = new Cleanup();
    try {
      const { eastNs, westNs, east, west } = await linkedSites(cleanup, 60_000);
      const echo = await startEchoServer();
      cleanup.add(() => echo.close());
      await expose(eastNs, 'api', { host: '127.0.0.1', port: echo.port });
      const svc = await pollUntil('the proxy Service api', () => service(westNs, 'api'));
      const events = await ServiceEvents.start(admin, westNs.name);
      cleanup.add(() => events.stop());
      const routes = (has: boolean) => (e: { msg: string; addresses?: unknown }) =>
        e.msg === 'routes changed' && Object.hasOwn((e.addresses ?? {}) as object, 'api') === has;

      // The exposing site goes away and comes back: west's routes lose api, then regain it.
      let since = west.mark();
      const f0 = performance.now();
      assert.equal((await east.stop()).code, 0, east.tail());
      await west.waitForEvent(routes(false), { since, timeoutMs: 30_000 });
      since = west.mark();
      await east.start();
      await west.waitForEvent(routes(true), { since, timeoutMs: 60_000 });
      t.diagnostic(
        `api away from west's routes and back: ${Math.round(performance.now() - f0)} ms`,
      );
      await streamThrough(svc.spec?.ports?.[0]?.targetPort as number, 1024 * 1024, echo);
      const now = await service(westNs, 'api');
      assert.equal(now?.metadata?.resourceVersion, svc.metadata?.resourceVersion, 'not written');
      assert.deepEqual(events.of('api'), [], 'neither deleted nor made again');
    } finally {
      await cleanup.run();
    }
  });
});
