import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { connectKube } from '../../../src/kube/connect.js';
import { INSTALL_CONFIGMAP, SITE_CONFIGMAP } from '../../../src/kube/owners.js';
import { KubeStore } from '../../../src/state/kube-store.js';
import { type KubeApiStandIn, startKubeApiStandIn } from '../../helpers/kube-api.js';
import { recordManifest } from '../../kube/records.js';

// Who owns what, on the stand-in; that the garbage collector then removes it all is
// test/kube/pods.test.ts's, on the real control plane.

const T = { timeout: 20_000 };
const LABELS = { 'app.kubernetes.io/managed-by': 'skiff', 'skiff.dev/kind': 'site' };
const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

describe('owners of what skiff writes (stand-in)', () => {
  let api: KubeApiStandIn;
  beforeEach(async () => {
    api = await startKubeApiStandIn({ namespace: 'team-a' });
    process.env.KUBECONFIG = api.kubeconfigPath;
  });
  afterEach(() => api.close());

  const ownersOf = (resource: 'configmaps' | 'secrets', name: string) =>
    (api.objects(resource).find((o) => o.metadata.name === name)?.metadata.ownerReferences ?? [])
      .map((r: { kind: string; name: string; uid: string }) => `${r.kind}/${r.name}/${r.uid}`)
      .sort();
  const uidOf = (name: string) =>
    api.objects('configmaps').find((o) => o.metadata.name === name)!.metadata.uid as string;

  it(
    'the install owns the site record, the site record the rest; none before they exist',
    T,
    async () => {
      const kube = connectKube();
      const store = new KubeStore(kube.core, kube.namespace);
      await store.put('connector', 'early', { address: 'early', host: 'db', port: 5432 });
      assert.deepEqual(ownersOf('configmaps', 'skiff-connector-early'), [], 'no site yet');

      api.put('configmaps', { metadata: { name: INSTALL_CONFIGMAP }, data: {} });
      const install = `ConfigMap/${INSTALL_CONFIGMAP}/${uidOf(INSTALL_CONFIGMAP)}`;
      assert.deepEqual(
        (await store.owners.referencesFor(SITE_CONFIGMAP))!.map(
          (r) => `${r.kind}/${r.name}/${r.uid}`,
        ),
        [install],
        'the site record is written owned by the install',
      );
      // The site record as a router's first start leaves it (its fields are not checked here).
      api.put('configmaps', { metadata: { name: SITE_CONFIGMAP, labels: LABELS }, data: {} });
      const site = `ConfigMap/${SITE_CONFIGMAP}/${uidOf(SITE_CONFIGMAP)}`;
      await store.put('connector', 'api', { address: 'api', host: 'api', port: 8080 });
      await store.putSecret('ca', PEM);
      assert.deepEqual(ownersOf('configmaps', 'skiff-connector-api'), [site]);
      assert.deepEqual(ownersOf('secrets', 'skiff-key-ca'), [site]);

      // Written before the site existed, or by hand: adopted, keeping their other owners.
      const byHand = recordManifest('listener', 'web', {
        address: 'web',
        host: '0.0.0.0',
        port: 80,
      });
      const gitops = { apiVersion: 'v1', kind: 'ConfigMap', name: 'gitops', uid: 'u-gitops' };
      const meta = byHand.metadata as Record<string, unknown>;
      api.put('configmaps', { ...byHand, metadata: { ...meta, ownerReferences: [gitops] } });
      assert.equal(await new KubeStore(kube.core, kube.namespace).adoptAll(), 3);
      assert.deepEqual(ownersOf('configmaps', SITE_CONFIGMAP), [install]);
      assert.deepEqual(ownersOf('configmaps', 'skiff-connector-early'), [site]);
      assert.deepEqual(ownersOf('configmaps', 'skiff-listener-web'), [
        'ConfigMap/gitops/u-gitops',
        site,
      ]);
      assert.equal(await store.adoptAll(), 0, 'adopted once');
      assert.deepEqual(ownersOf('configmaps', INSTALL_CONFIGMAP), [], 'the install is nobody’s');
    },
  );
});
