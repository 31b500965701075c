import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { connectKube, type KubeConnection } from '../../../src/kube/connect.js';
import { Watched } from '../../../src/kube/watched.js';
import { type KubeApiStandIn, startKubeApiStandIn } from '../../helpers/kube-api.js';
import { pollUntil } from '../../helpers/wait.js';

// The handler runs inside the informer's event emit: a throw there would be an uncaught
// exception (exit 70) of the router, for one change it could not handle.

const T = { timeout: 20_000 };

describe('Watched (stand-in)', () => {
  let api: KubeApiStandIn;
  let kube: KubeConnection;
  let watched: Watched<V1Pod> | undefined;
  beforeEach(async () => {
    api = await startKubeApiStandIn({ namespace: 'team-a' });
    process.env.KUBECONFIG = api.kubeconfigPath;
    kube = connectKube();
  });
  afterEach(async () => {
    watched?.stop();
    await api.close();
  });

  it('logs a change handler that throws and goes on calling it', T, async () => {
    const lines: Array<{ msg: string; err?: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l));
        done();
      },
    });
    const seen: number[] = [];
    watched = new Watched<V1Pod>(
      kube,
      {
        what: 'pods with app=api',
        resource: 'pods',
        path: '/api/v1/namespaces/team-a/pods',
        list: () => kube.core.listNamespacedPod({ namespace: 'team-a', labelSelector: 'app=api' }),
        labelSelector: 'app=api',
        maxItems: 10,
      },
      pino({ level: 'info' }, sink),
      () => {
        const count = watched!.items().length;
        seen.push(count);
        if (count === 1) throw new Error('cannot handle one pod');
      },
    );
    watched.start();
    await watched.whenSynced();
    api.put('pods', api.pod('api-1', { app: 'api' }, { ip: '10.0.0.1', ready: true }));
    await pollUntil('the throw to be logged', async () =>
      lines.some((l) => l.msg === 'handling a change failed'),
    );
    api.put('pods', api.pod('api-2', { app: 'api' }, { ip: '10.0.0.2', ready: true }));
    await pollUntil('the next change', async () => seen.includes(2));
    const logged = lines.find((l) => l.msg === 'handling a change failed');
    assert.match(logged?.err ?? '', /cannot handle one pod/);
  });
});
