import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import {
  corrected,
  desiredService,
  ownedBy,
  targetPortsOf,
} from '../../../src/kube/proxy-service-spec.js';

const owner = { name: 'skiff-site', uid: 'u-1' };

/** A desired Service as the API server returns it: with what it and others add. */
function stored(svc: V1Service): V1Service {
  return {
    ...svc,
    metadata: {
      ...svc.metadata,
      uid: 's-1',
      resourceVersion: '42',
      annotations: { note: 'kept' },
    },
    spec: { ...svc.spec, clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'] },
  };
}

describe('proxy Service objects', () => {
  it('select the router pod, name ports by number and are owned by the site record', () => {
    const svc = desiredService('api', [{ port: 80, targetPort: 20_001 }], owner);
    assert.deepEqual(svc.spec?.selector, {
      'app.kubernetes.io/name': 'skiff',
      'app.kubernetes.io/component': 'router',
    });
    assert.deepEqual(svc.spec?.ports, [
      { name: 'port-80', port: 80, protocol: 'TCP', targetPort: 20_001 },
    ]);
    assert.deepEqual(svc.metadata?.ownerReferences, [
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'skiff-site', uid: 'u-1' },
    ]);
    assert.equal(ownedBy(svc, owner), true);
    assert.deepEqual([...targetPortsOf(svc)], [[80, 20_001]]);
  });

  it('are ours only with both the proxy label and an ownerReference to this site', () => {
    const svc = desiredService('api', [{ port: 80, targetPort: 20_001 }], owner);
    assert.equal(ownedBy(svc, { ...owner, uid: 'other-site' }), false);
    assert.equal(ownedBy({ ...svc, metadata: { ...svc.metadata, labels: {} } }, owner), false);
    assert.equal(ownedBy({ metadata: { name: 'api' } }, owner), false);
  });

  it('are not written when they match, and corrected keeping what others set', () => {
    const want = desiredService('api', [{ port: 80, targetPort: 20_001 }], owner);
    const have = stored(want);
    assert.equal(corrected(have, want), undefined, 'adopted as it is');
    const edited = stored({
      ...want,
      metadata: {
        ...want.metadata,
        labels: { ...want.metadata?.labels, team: 'a' },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x', uid: 'd-1' },
          ...(want.metadata?.ownerReferences ?? []),
        ],
      },
      spec: { ...want.spec, selector: { app: 'other' } },
    });
    const fixed = corrected(edited, want)!;
    assert.deepEqual(fixed.spec?.selector, want.spec?.selector);
    assert.equal(fixed.metadata?.resourceVersion, '42', 'a compare-and-swap on what was read');
    assert.equal(fixed.spec?.clusterIP, '10.96.0.10');
    assert.equal(fixed.metadata?.annotations?.note, 'kept');
    assert.equal(fixed.metadata?.labels?.team, 'a');
    assert.equal(fixed.metadata?.ownerReferences?.length, 2);
    const moved = desiredService('api', [{ port: 8080, targetPort: 20_001 }], owner);
    assert.deepEqual(corrected(have, moved)?.spec?.ports, moved.spec?.ports);
  });
});
