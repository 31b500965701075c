import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { isSkiffError } from '../../../src/errors.js';
import { connectKube } from '../../../src/kube/connect.js';
import { KubeStore } from '../../../src/state/kube-store.js';
import { type KubeApiStandIn, startKubeApiStandIn } from '../../helpers/kube-api.js';
import { sampleRecords } from '../../helpers/records.js';
import { storeContract } from './store-contract.js';

// KubeStore through the real @kubernetes/client-node against test/helpers/kube-api.ts, a
// stand-in that speaks the API server's REST protocol for ConfigMaps and Secrets over
// HTTPS with a bearer token (no API server can run here).

const T = { timeout: 20_000 };

describe('KubeStore', () => {
  let api: KubeApiStandIn;
  let store: KubeStore;
  let core: CoreV1Api;
  beforeEach(async () => {
    api = await startKubeApiStandIn({ namespace: 'team-a' });
    process.env.KUBECONFIG = api.kubeconfigPath;
    const conn = connectKube();
    assert.equal(conn.namespace, 'team-a', 'the namespace comes from the context');
    store = new KubeStore(conn.core, conn.namespace);
    core = conn.core;
  });
  afterEach(() => api.close());

  storeContract(() => store);

  it('keeps a record as a labelled ConfigMap and a key as an Opaque Secret', T, async () => {
    await store.put('connector', 'api', { address: 'api', host: '10.0.0.7', port: 8080 });
    const { keyPem } = await sampleRecords();
    await store.putSecret('ca', keyPem);
    const [cm] = api.objects('configmaps');
    assert.equal(cm.metadata.name, 'skiff-connector-api');
    assert.deepEqual(cm.metadata.labels, {
      'app.kubernetes.io/managed-by': 'skiff',
      'skiff.dev/kind': 'connector',
    });
    assert.equal(cm.data['connector.yaml'], 'address: api\nhost: 10.0.0.7\nport: 8080\n');
    const [secret] = api.objects('secrets');
    assert.equal(secret.metadata.name, 'skiff-key-ca');
    assert.equal(secret.type, 'Opaque');
    assert.equal(Buffer.from(secret.data['key.pem'], 'base64').toString(), keyPem);
    assert.equal(api.objects('configmaps').length, 1, 'no key lands in a ConfigMap');
  });

  it('reads records applied by hand, as kubectl apply or GitOps would write them', T, async () => {
    await core.createNamespacedConfigMap({
      namespace: 'team-a',
      body: {
        metadata: {
          name: 'skiff-listener-db',
          labels: { 'app.kubernetes.io/managed-by': 'skiff', 'skiff.dev/kind': 'listener' },
        },
        data: { 'listener.yaml': '{"address": "db", "host": "127.0.0.1", "port": 5432}' },
      },
    });
    const db = { address: 'db', host: '127.0.0.1', port: 5432 };
    assert.deepEqual(await store.get('listener', 'db'), db);
    assert.deepEqual(await store.list('listener'), [db]);
  });

  it('names a broken ConfigMap and says how to fix it', T, async () => {
    await store.put('link', 'east', (await sampleRecords()).link);
    const cm = api.objects('configmaps')[0];
    await core.replaceNamespacedConfigMap({
      name: 'skiff-link-east',
      namespace: 'team-a',
      body: { ...cm, data: { 'link.yaml': 'ok: [unclosed' } },
    });
    await assert.rejects(store.get('link', 'east'), (err) => {
      assert.ok(isSkiffError(err, 'SKIFF_ERR_STATE_CORRUPT'));
      assert.match(err.message, /configmaps "skiff-link-east" in namespace team-a/);
      assert.match(err.message, /kubectl edit/);
      return true;
    });
  });

  it('turns RBAC refusals into FORBIDDEN naming the verb, object and namespace', T, async () => {
    api.deny('secrets', 'create');
    await assert.rejects(store.putSecret('ca', (await sampleRecords()).keyPem), (err) => {
      assert.ok(isSkiffError(err, 'SKIFF_ERR_FORBIDDEN'), String(err));
      assert.match(err.message, /refused to create secrets "skiff-key-ca" in namespace team-a/);
      assert.match(err.message, /Role/);
      return true;
    });
    api.deny('configmaps', 'list');
    await assert.rejects(store.list('connector'), (err) =>
      isSkiffError(err, 'SKIFF_ERR_FORBIDDEN'),
    );
  });

  it(
    'reports refused credentials and an unreachable API server as PLATFORM_UNAVAILABLE',
    T,
    async () => {
      const kc = new KubeConfig();
      kc.loadFromFile(api.kubeconfigPath);
      const user = kc.getCurrentUser()!;
      kc.users = [{ ...user, token: 'wrong' }];
      const badToken = new KubeStore(kc.makeApiClient(CoreV1Api), 'team-a');
      await assert.rejects(badToken.get('site', 'site'), (err) => {
        assert.ok(isSkiffError(err, 'SKIFF_ERR_PLATFORM_UNAVAILABLE'), String(err));
        assert.match(err.message, /401/);
        return true;
      });
      await api.close();
      await assert.rejects(store.list('link'), (err) => {
        assert.ok(isSkiffError(err, 'SKIFF_ERR_PLATFORM_UNAVAILABLE'), String(err));
        assert.match(err.message, /cannot list configmaps in namespace team-a/);
        return true;
      });
    },
  );

  it('refuses a name the API server could not take, before calling it', T, async () => {
    const before = api.requests.length;
    await assert.rejects(store.put('link', 'East_1', (await sampleRecords()).link), (err) =>
      isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
    );
    assert.equal(api.requests.length, before);
  });
});

describe('connectKube', () => {
  it('picks the context and namespace asked for, and names the contexts there are', T, async () => {
    const api = await startKubeApiStandIn({ namespace: 'team-a' });
    try {
      process.env.KUBECONFIG = api.kubeconfigPath;
      assert.equal(connectKube({ namespace: 'team-b' }).namespace, 'team-b');
      assert.equal(connectKube({ context: 'standin' }).server, api.url);
      assert.throws(
        () => connectKube({ context: 'prod' }),
        (err) =>
          isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT') && /it has: standin/.test(err.message),
      );
    } finally {
      await api.close();
    }
  });
});
