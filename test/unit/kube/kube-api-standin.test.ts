import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { type KubeApiStandIn, startKubeApiStandIn } from '../../helpers/kube-api.js';

// The stand-in is only worth something if the real client library accepts it, so every
// check goes through @kubernetes/client-node as the code under test will.

const T = { timeout: 10_000 };
const NS = 'team-a';

async function withStandIn(
  fn: (core: CoreV1Api, api: KubeApiStandIn, kc: KubeConfig) => Promise<void>,
): Promise<void> {
  const api = await startKubeApiStandIn({ namespace: NS });
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    await fn(kc.makeApiClient(CoreV1Api), api, kc);
  } finally {
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
});
