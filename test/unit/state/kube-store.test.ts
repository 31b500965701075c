import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import { connectKube } from '../../../src/kube/connect.js';
import { KubeStore } from '../../../src/state/kube-store.js';
import { type KubeApiStandIn, startKubeApiStandIn } from '../../helpers/kube-api.js';
import { sampleRecords } from '../../helpers/records.js';

// What only a stand-in can show of KubeStore: the real API server cannot be made to fail
// with a 500 on demand, nor be asked afterwards which requests it saw. Everything about the
// API's own behaviour (conflicts, a create after a 404, labels, list selection, 403s, 401s)
// runs against a real kube-apiserver in test/kube/kube-store.test.ts.

const T = { timeout: 20_000 };

describe('KubeStore (stand-in)', () => {
  let api: KubeApiStandIn;
  let store: KubeStore;
  beforeEach(async () => {
    api = await startKubeApiStandIn({ namespace: 'team-a' });
    process.env.KUBECONFIG = api.kubeconfigPath;
    const conn = connectKube();
    store = new KubeStore(conn.core, conn.namespace);
  });
  afterEach(() => api.close());

  it(
    'reports a server error as PLATFORM_UNAVAILABLE with its status, not as a missing record',
    T,
    async () => {
      api.failWith('configmaps', 'get', 500, 'etcdserver: request timed out');
      await assert.rejects(store.get('site', 'site'), (err) => {
        assert.ok(isSkiffError(err, 'SKIFF_ERR_PLATFORM_UNAVAILABLE'), String(err));
        assert.match(
          err.message,
          /cannot get configmaps "skiff-site" in namespace team-a: 500 etcdserver: request timed out/,
        );
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
