import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import { connectKube, type KubeConnection } from '../../../src/kube/connect.js';
import { DeploymentPods } from '../../../src/kube/deployment-pods.js';
import { silentLogger } from '../../../src/log.js';
import { type KubeApiStandIn, startKubeApiStandIn } from '../../helpers/kube-api.js';

// DeploymentPods through the real @kubernetes/client-node (its informer: list, then watch)
// against test/helpers/kube-api.ts, the API server stand-in.

const T = { timeout: 15_000 };
const APP = { app: 'api' };

describe('DeploymentPods', () => {
  let api: KubeApiStandIn;
  let kube: KubeConnection;
  let pods: DeploymentPods | undefined;
  beforeEach(async () => {
    api = await startKubeApiStandIn({ namespace: 'team-a' });
    process.env.KUBECONFIG = api.kubeconfigPath;
    kube = connectKube();
    api.put('deployments', api.deployment('api', APP, 2));
  });
  afterEach(async () => {
    pods?.stop();
    pods = undefined;
    await api.close();
  });

  /** Starts watching deployment/api and returns a way to await the next change. */
  async function watch(): Promise<{
    pods: DeploymentPods;
    changed(what: () => boolean): Promise<void>;
  }> {
    const p = new DeploymentPods(kube, 'api', silentLogger);
    pods = p;
    let wake: () => void = () => undefined;
    p.onChange = () => wake();
    await p.start();
    return {
      pods: p,
      changed: async (what) => {
        while (!what()) await new Promise<void>((resolve) => (wake = resolve));
      },
    };
  }

  const names = (p: DeploymentPods) => p.ready().map((x) => `${x.name}@${x.ip}`);

  it('lists the ready pods the selector picks, and follows them as they change', T, async () => {
    api.put('pods', api.pod('api-1', APP, { ip: '10.0.0.1', ready: true }));
    api.put('pods', api.pod('api-2', APP, { ip: '10.0.0.2', ready: false }));
    api.put('pods', api.pod('web-1', { app: 'web' }, { ip: '10.0.0.9', ready: true }));
    const { pods: p, changed } = await watch();
    assert.deepEqual(names(p), ['api-1@10.0.0.1']);

    api.put('pods', api.pod('api-2', APP, { ip: '10.0.0.2', ready: true }));
    await changed(() => p.ready().length === 2);
    assert.deepEqual(names(p), ['api-1@10.0.0.1', 'api-2@10.0.0.2']);

    api.remove('pods', 'api-1');
    await changed(() => p.ready().length === 1);
    assert.deepEqual(names(p), ['api-2@10.0.0.2']);

    api.put('pods', api.pod('api-2', { app: 'api-old' }, { ip: '10.0.0.2', ready: true }));
    await changed(() => p.ready().length === 0);
  });

  it('sends each stream to the pod with the fewest open streams', T, async () => {
    for (const n of [1, 2, 3]) {
      api.put('pods', api.pod(`api-${n}`, APP, { ip: `10.0.0.${n}`, ready: true }));
    }
    const { pods: p } = await watch();
    const leases = Array.from({ length: 6 }, () => p.pick());
    assert.deepEqual(
      leases.map((l) => l.pod.name),
      ['api-1', 'api-2', 'api-3', 'api-1', 'api-2', 'api-3'],
    );
    leases[4]!.release();
    leases[4]!.release(); // twice is once
    assert.equal(p.pick().pod.name, 'api-2');
    assert.equal(p.pick().pod.name, 'api-1');
  });

  it('keeps following after the server drops its watch', T, async () => {
    api.put('pods', api.pod('api-1', APP, { ip: '10.0.0.1', ready: true }));
    const { pods: p, changed } = await watch();
    api.dropWatches();
    api.put('pods', api.pod('api-2', APP, { ip: '10.0.0.2', ready: true }));
    await changed(() => p.ready().length === 2);
  });

  it('says which deployment has no ready pods, or does not exist', T, async () => {
    api.put('pods', api.pod('api-1', APP, { ip: '10.0.0.1', ready: false }));
    const { pods: p } = await watch();
    assert.throws(
      () => p.pick(),
      (err) =>
        isSkiffError(err, 'SKIFF_ERR_NOT_FOUND') &&
        /deployment\/api in namespace team-a has no ready pods/.test(err.message),
    );
    const missing = new DeploymentPods(kube, 'nope', silentLogger);
    await assert.rejects(
      missing.start(),
      (err) =>
        isSkiffError(err, 'SKIFF_ERR_NOT_FOUND') &&
        /no deployment\/nope in namespace team-a/.test(err.message),
    );
  });
});
