import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import {
  type KubeApiStandIn,
  startKubeApiStandIn,
  WATCH_LOG_SIZE,
  type WireObject,
} from '../../helpers/kube-api.js';

// The stand-in is only worth something if the real client library accepts it, so every
// check goes through @kubernetes/client-node as the code under test will.

const T = { timeout: 15_000 };
const NS = 'team-a';
const PODS = `/api/v1/namespaces/${NS}/pods`;
const WEB = { app: 'web' };
const DB = { app: 'db' };

/** Runs `fn` against a fresh stand-in; `signal` (the test's) aborting closes it too. */
async function withStandIn(
  fn: (core: CoreV1Api, api: KubeApiStandIn, kc: KubeConfig) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const api = await startKubeApiStandIn({ namespace: NS });
  // A test that times out waiting on a stream may never reach its finally; its open
  // connections would then keep the test process alive.
  const close = () => void api.close();
  signal?.addEventListener('abort', close, { once: true });
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    await fn(kc.makeApiClient(CoreV1Api), api, kc);
  } finally {
    signal?.removeEventListener('abort', close);
    await api.close();
  }
}

/**
 * The ApiException a call fails with. client-node hands the error body over as the raw
 * response text (a JSON Status), except for 401, where it keeps no body at all.
 */
async function failure(call: Promise<unknown>, code: number): Promise<ApiException<string>> {
  const err = await call.then(
    () => assert.fail(`expected HTTP ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiException, String(err));
  assert.equal(err.code, code);
  return err as ApiException<string>;
}

async function status(call: Promise<unknown>, code: number) {
  const status = JSON.parse((await failure(call, code)).body);
  assert.equal(status.kind, 'Status');
  assert.equal(status.code, code);
  return status;
}

/** Things as they arrive; until(n) resolves once there are n, so tests await, never sleep. */
function inbox<T>() {
  const items: T[] = [];
  let wake = () => {};
  return {
    push(item: T) {
      items.push(item);
      wake();
    },
    async until(n: number): Promise<T[]> {
      while (items.length < n) await new Promise<void>((resolve) => (wake = resolve));
      return items;
    },
  };
}

/** A client-node Watch on `path`: its events, and its done() argument once it ends. */
async function watch(kc: KubeConfig, path: string, query: Record<string, string>) {
  const events = inbox<[string, WireObject]>();
  let done: (err: unknown) => void = () => {};
  const ended = new Promise<unknown>((resolve) => (done = resolve));
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type, obj) => events.push([type, obj]),
    (err) => done(err),
  );
  return { events, ended, controller };
}

describe('Kubernetes API stand-in through @kubernetes/client-node', () => {
  it('creates, reads, replaces, lists by label and deletes ConfigMaps', T, async () => {
    await withStandIn(async (core, api, kc) => {
      assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, NS);
      const created = await core.createNamespacedConfigMap({
        namespace: NS,
        body: {
          metadata: { name: 'web', labels: { app: 'skiff', tier: 'front' } },
          data: { a: '1' },
        },
      });
      assert.equal(created.kind, 'ConfigMap');
      assert.equal(created.metadata?.namespace, NS);
      assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.ok(created.metadata?.creationTimestamp instanceof Date);

      const read = await core.readNamespacedConfigMap({ name: 'web', namespace: NS });
      assert.deepEqual(read, created);

      const replaced = await core.replaceNamespacedConfigMap({
        name: 'web',
        namespace: NS,
        body: { ...read, data: { a: '2' } },
      });
      assert.equal(replaced.metadata?.uid, created.metadata?.uid);
      assert.ok(
        Number(replaced.metadata?.resourceVersion) > Number(read.metadata?.resourceVersion),
      );
      assert.deepEqual(api.objects('configmaps')[0].data, { a: '2' });

      for (const [name, labels] of [
        ['db', { app: 'skiff', tier: 'back' }],
        ['other', { app: 'else' }],
      ] as const) {
        await core.createNamespacedConfigMap({
          namespace: NS,
          body: { metadata: { name, labels } },
        });
      }
      const names = async (labelSelector: string) =>
        (await core.listNamespacedConfigMap({ namespace: NS, labelSelector })).items.map(
          (cm) => cm.metadata?.name,
        );
      assert.deepEqual(await names('app=skiff'), ['db', 'web']);
      assert.deepEqual(await names('app==skiff,tier!=front'), ['db']);
      assert.deepEqual(await names('tier'), ['db', 'web']);
      assert.deepEqual(await names('!tier'), ['other']);
      const list = await core.listNamespacedConfigMap({ namespace: NS });
      assert.equal(list.kind, 'ConfigMapList');
      assert.equal(list.items[0].kind, undefined, 'list items carry no kind, as on a real server');

      const deleted = await core.deleteNamespacedConfigMap({ name: 'web', namespace: NS });
      assert.equal(deleted.status, 'Success');
      assert.equal(deleted.details?.name, 'web');
      assert.equal(deleted.details?.kind, 'configmaps');
      assert.equal(deleted.details?.uid, created.metadata?.uid);
      const gone = await status(core.readNamespacedConfigMap({ name: 'web', namespace: NS }), 404);
      assert.equal(gone.reason, 'NotFound');
      assert.equal(gone.message, 'configmaps "web" not found');
      assert.deepEqual(gone.details, { name: 'web', kind: 'configmaps' });
      assert.deepEqual(api.requests.at(-1), {
        method: 'GET',
        path: `/api/v1/namespaces/${NS}/configmaps/web`,
      });
    });
  });

  it('answers 409 to a taken name and to a replace from a stale read', T, async () => {
    await withStandIn(async (core) => {
      const body = { metadata: { name: 'web' }, data: { a: '1' } };
      const first = await core.createNamespacedConfigMap({ namespace: NS, body });
      const taken = await status(core.createNamespacedConfigMap({ namespace: NS, body }), 409);
      assert.equal(taken.reason, 'AlreadyExists');
      assert.equal(taken.message, 'configmaps "web" already exists');

      await core.replaceNamespacedConfigMap({
        name: 'web',
        namespace: NS,
        body: { ...first, data: { a: '2' } },
      });
      const stale = await status(
        core.replaceNamespacedConfigMap({
          name: 'web',
          namespace: NS,
          body: { ...first, data: { a: '3' } },
        }),
        409,
      );
      assert.equal(stale.reason, 'Conflict');
      assert.match(
        stale.message,
        /^Operation cannot be fulfilled on configmaps "web": the object has been modified/,
      );

      // Without a resourceVersion a replace is unconditional.
      const forced = await core.replaceNamespacedConfigMap({
        name: 'web',
        namespace: NS,
        body: { metadata: { name: 'web' }, data: { a: '4' } },
      });
      assert.deepEqual(forced.data, { a: '4' });
    });
  });

  it('refuses malformed objects as the real server does', T, async () => {
    await withStandIn(async (core) => {
      const bad = await status(
        core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'Not_DNS' } } }),
        422,
      );
      assert.equal(bad.reason, 'Invalid');
      assert.match(bad.message, /^ConfigMap "Not_DNS" is invalid: metadata\.name: Invalid value/);
      const elsewhere = await status(
        core.createNamespacedConfigMap({
          namespace: NS,
          body: { metadata: { name: 'x', namespace: 'b' } },
        }),
        400,
      );
      assert.equal(elsewhere.reason, 'BadRequest');
      const missing = await status(
        core.replaceNamespacedConfigMap({
          name: 'nope',
          namespace: NS,
          body: { metadata: { name: 'nope' } },
        }),
        404,
      );
      assert.equal(missing.reason, 'NotFound');
      const notBase64 = await status(
        core.createNamespacedSecret({
          namespace: NS,
          body: { metadata: { name: 's' }, data: { k: 'admin' } },
        }),
        400,
      );
      assert.equal(
        notBase64.message,
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 4',
      );
    });
  });

  it('folds Secret stringData into base64 data and defaults the type', T, async () => {
    await withStandIn(async (core, api) => {
      const secret = await core.createNamespacedSecret({
        namespace: NS,
        body: {
          metadata: { name: 'key' },
          data: { a: 'QQ==' },
          stringData: { 'key.pem': 'PEM\n' },
        },
      });
      assert.equal(secret.type, 'Opaque');
      assert.equal(secret.stringData, undefined);
      assert.deepEqual(secret.data, {
        a: 'QQ==',
        'key.pem': Buffer.from('PEM\n').toString('base64'),
      });
      const [stored] = api.objects('secrets');
      assert.deepEqual(stored.data, secret.data);
      assert.equal('stringData' in stored, false);
    });
  });

  it('answers 403 as RBAC would for a denied verb, and only that verb', T, async () => {
    await withStandIn(async (core, api) => {
      api.deny('configmaps', 'list');
      const denied = await status(core.listNamespacedConfigMap({ namespace: NS }), 403);
      assert.equal(denied.reason, 'Forbidden');
      assert.equal(
        denied.message,
        `configmaps is forbidden: User "system:serviceaccount:${NS}:skiff" cannot list resource "configmaps" in API group "" in the namespace "${NS}"`,
      );
      await core.listNamespacedSecret({ namespace: NS });
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'ok' } } });
    });
  });

  it('answers 401 to a request without the right bearer token', T, async () => {
    await withStandIn(async (_core, api, kc) => {
      const wrong = new KubeConfig();
      wrong.loadFromOptions({
        clusters: kc.getClusters(),
        users: [{ name: 'standin', token: 'not-the-token' }],
        contexts: kc.getContexts(),
        currentContext: kc.getCurrentContext(),
      });
      const core = wrong.makeApiClient(CoreV1Api);
      const err = await failure(core.readNamespacedConfigMap({ name: 'x', namespace: NS }), 401);
      assert.equal(err.body, undefined, 'client-node drops the 401 body');
      assert.equal(api.requests.length, 1);
    });
  });

  it('serves Pods and Deployments read-only, listing pods by label selector', T, async () => {
    await withStandIn(async (core, api, kc) => {
      const apps = kc.makeApiClient(AppsV1Api);
      api.put('deployments', api.deployment('web', WEB, 2));
      api.put('pods', api.pod('web-1', WEB, { ip: '10.0.0.1', ready: true }));
      api.put('pods', api.pod('web-2', WEB, { ready: false }));
      const last = api.put('pods', api.pod('db-1', DB, { ip: '10.0.0.9', ready: true }));

      const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
      assert.equal(deployment.kind, 'Deployment');
      assert.equal(deployment.apiVersion, 'apps/v1');
      assert.equal(deployment.spec?.replicas, 2);
      assert.deepEqual(deployment.spec?.selector.matchLabels, WEB);
      assert.deepEqual(deployment.spec?.template.metadata?.labels, WEB);
      const deployments = await apps.listNamespacedDeployment({ namespace: NS });
      assert.equal(deployments.kind, 'DeploymentList');
      assert.equal(deployments.apiVersion, 'apps/v1');
      assert.deepEqual(
        deployments.items.map((d) => d.metadata?.name),
        ['web'],
      );

      const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' });
      assert.equal(pods.kind, 'PodList');
      assert.equal(pods.metadata?.resourceVersion, last.metadata.resourceVersion);
      assert.deepEqual(
        pods.items.map((p) => [
          p.metadata?.name,
          p.status?.podIP,
          p.status?.conditions?.find((c) => c.type === 'Ready')?.status,
        ]),
        [
          ['web-1', '10.0.0.1', 'True'],
          ['web-2', undefined, 'False'],
        ],
      );
      const pod = await core.readNamespacedPod({ name: 'web-1', namespace: NS });
      assert.equal(pod.status?.phase, 'Running');
      api.remove('pods', 'web-2');
      const left = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' });
      assert.deepEqual(
        left.items.map((p) => p.metadata?.name),
        ['web-1'],
      );

      const user = `system:serviceaccount:${NS}:skiff`;
      const create = await status(
        core.createNamespacedPod({ namespace: NS, body: api.pod('x', WEB, { ready: true }) }),
        403,
      );
      assert.equal(
        create.message,
        `pods is forbidden: User "${user}" cannot create resource "pods" in API group "" in the namespace "${NS}"`,
      );
      const remove = await status(
        apps.deleteNamespacedDeployment({ name: 'web', namespace: NS }),
        403,
      );
      assert.equal(
        remove.message,
        `deployments.apps "web" is forbidden: User "${user}" cannot delete resource "deployments" in API group "apps" in the namespace "${NS}"`,
      );
      assert.deepEqual(remove.details, { name: 'web', group: 'apps', kind: 'deployments' });
      const missing = await status(
        apps.readNamespacedDeployment({ name: 'nope', namespace: NS }),
        404,
      );
      assert.equal(missing.message, 'deployments.apps "nope" not found');
    });
  });

  it('streams pod changes to a Watch, as its label selector sees them', T, async (t) => {
    await withStandIn(async (_core, api, kc) => {
      api.put('pods', api.pod('web-1', WEB, { ip: '10.0.0.1', ready: true }));
      const { events, ended, controller } = await watch(kc, PODS, {
        labelSelector: 'app=web',
      });
      assert.deepEqual(api.requests.at(-1), {
        method: 'GET',
        path: `${PODS}?watch=true&labelSelector=app%3Dweb`,
      });

      api.put('pods', api.pod('db-1', DB, { ip: '10.0.0.9', ready: true }));
      api.put('pods', api.pod('web-2', WEB, { ip: '10.0.0.2', ready: false }));
      api.put('pods', api.pod('web-2', WEB, { ip: '10.0.0.2', ready: true }));
      const leaving = api.put('pods', api.pod('web-1', { app: 'old' }, { ready: false }));
      api.put('pods', api.pod('db-1', WEB, { ip: '10.0.0.9', ready: true }));
      api.remove('pods', 'web-2');

      const seen = await events.until(6);
      assert.deepEqual(
        seen.map(([type, obj]) => `${type} ${obj.metadata.name}`),
        [
          'ADDED web-1', // there before the watch, which had no resourceVersion
          'ADDED web-2',
          'MODIFIED web-2',
          'DELETED web-1', // left the selector
          'ADDED db-1', // entered it
          'DELETED web-2',
        ],
      );
      for (const [, obj] of seen) assert.deepEqual([obj.kind, obj.apiVersion], ['Pod', 'v1']);
      // A pod leaving the selector is sent as it last matched, at the new resourceVersion.
      const [, left] = seen[3];
      assert.deepEqual(left.metadata.labels, WEB);
      assert.equal(left.metadata.resourceVersion, leaving.metadata.resourceVersion);
      controller.abort();
      await ended;
    }, t.signal);
  });

  it('replays a watch from a resourceVersion, and expires one too old', T, async (t) => {
    await withStandIn(async (core, api, kc) => {
      const before = await core.listNamespacedPod({ namespace: NS });
      const puts = Array.from({ length: WATCH_LOG_SIZE + 1 }, (_, i) =>
        api.put('pods', api.pod('web-1', WEB, { ip: `10.0.${i >> 8}.${i & 255}`, ready: true })),
      );

      const recent = await watch(kc, PODS, {
        resourceVersion: puts.at(-2).metadata.resourceVersion,
      });
      const [[type, obj]] = await recent.events.until(1);
      assert.equal(type, 'MODIFIED');
      assert.equal(obj.metadata.resourceVersion, puts.at(-1).metadata.resourceVersion);
      recent.controller.abort();
      await recent.ended;

      const stale = await watch(kc, PODS, {
        resourceVersion: before.metadata?.resourceVersion ?? '',
      });
      const [[error, gone]] = await stale.events.until(1);
      assert.equal(error, 'ERROR');
      assert.equal(gone.kind, 'Status');
      assert.equal(gone.code, 410);
      assert.equal(gone.reason, 'Expired');
      assert.equal(await stale.ended, null, 'the server ends the watch after the error');
    }, t.signal);
  });

  it('keeps a makeInformer cache current, and re-watches after a dropped watch', T, async (t) => {
    await withStandIn(async (core, api, kc) => {
      api.put('pods', api.pod('web-1', WEB, { ip: '10.0.0.1', ready: false }));
      const listed = api.put('pods', api.pod('db-1', DB, { ip: '10.0.0.9', ready: true }));
      const informer = makeInformer<V1Pod>(
        kc,
        PODS,
        () => core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' }),
        'app=web',
      );
      const events = inbox<string>();
      let seen: string | undefined;
      for (const verb of ['add', 'update', 'delete'] as const) {
        informer.on(verb, (pod) => {
          seen = pod.metadata?.resourceVersion;
          events.push(`${verb} ${pod.metadata?.name}`);
        });
      }
      const errors: unknown[] = [];
      informer.on('error', (err) => errors.push(err));
      try {
        await informer.start();
        api.put('pods', api.pod('web-1', WEB, { ip: '10.0.0.1', ready: true }));
        api.put('pods', api.pod('web-2', WEB, { ip: '10.0.0.2', ready: true }));
        api.remove('pods', 'web-1');
        assert.deepEqual(await events.until(4), [
          'add web-1', // from the list
          'update web-1',
          'add web-2',
          'delete web-1',
        ]);
        const lastSeen = seen;

        api.dropWatches();
        api.put('pods', api.pod('web-2', WEB, { ip: '10.0.0.2', ready: false }));
        api.put('pods', api.pod('web-3', WEB, { ip: '10.0.0.3', ready: true }));
        assert.deepEqual((await events.until(6)).slice(4), ['update web-2', 'add web-3']);
        assert.deepEqual(
          informer.list(NS).map((p) => p.metadata?.name),
          ['web-2', 'web-3'],
        );
        assert.deepEqual(errors, []);

        // One list, then a watch from its resourceVersion, then one from the last event seen.
        const paths = api.requests.map((r) => new URL(r.path, api.url));
        const lists = paths.filter((u) => !u.searchParams.has('watch'));
        const watches = paths.filter((u) => u.searchParams.get('watch') === 'true');
        assert.equal(lists.length, 1);
        assert.deepEqual(
          watches.map((u) => [
            u.searchParams.get('labelSelector'),
            u.searchParams.get('resourceVersion'),
          ]),
          [
            ['app=web', listed.metadata.resourceVersion],
            ['app=web', lastSeen],
          ],
        );
      } finally {
        await informer.stop();
      }
    }, t.signal);
  });
});
