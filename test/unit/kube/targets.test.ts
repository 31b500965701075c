/**
 * KubeTargets where the stand-in API server (test/helpers/kube-api.ts) serves better than
 * the real one: it drops watches, refuses and allows a verb, and holds a thousand pods,
 * on demand. Selector targets (its label selectors) with pods on 127.0.0.1, each at its
 * own port named `echo`, so streams reach real sockets. What claims Kubernetes behaviour
 * (readiness, scaling, EndpointSlices, workloads) is test/kube/targets.test.ts, on the
 * real control plane.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import { connectKube } from '../../../src/kube/connect.js';
import { MAX_PODS } from '../../../src/kube/pod-source.js';
import { KubeTargets } from '../../../src/kube/targets.js';
import { silentLogger } from '../../../src/log.js';
import type { ConnectorRecord } from '../../../src/site/records.js';
import { hostPortTargets } from '../../../src/site/targets.js';
import {
  type KubeApiStandIn,
  startKubeApiStandIn,
  type WireObject,
} from '../../helpers/kube-api.js';
import { pollUntil } from '../../helpers/wait.js';

const T = { timeout: 30_000 };
const APP = { app: 'api' };
const API: ConnectorRecord = { address: 'api', selector: 'app=api', port: 80, targetPort: 'echo' };

/** A server that names itself on each connection, as the echo pods do. */
async function namedServer(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(`${name}\n`);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { server, port: address.port };
}

/** What the pod at the other end of `socket` says it is. */
async function nameOf(socket: Socket): Promise<string> {
  socket.resume();
  let text = '';
  for await (const chunk of socket) text += String(chunk);
  return text.trim();
}

describe('KubeTargets against the stand-in', () => {
  let api: KubeApiStandIn;
  let targets: KubeTargets;
  const servers: Server[] = [];

  beforeEach(async () => {
    api = await startKubeApiStandIn({ namespace: 'team-a' });
    process.env.KUBECONFIG = api.kubeconfigPath;
    targets = new KubeTargets(connectKube(), silentLogger);
  });
  afterEach(async () => {
    targets.stop();
    await api.close();
    for (const server of servers.splice(0)) server.close();
  });

  /** A ready pod of app=api on 127.0.0.1 whose port `echo` is a live server (or a closed port). */
  async function pod(name: string, opts: { ready?: boolean; live?: boolean } = {}): Promise<void> {
    let port = 1;
    if (opts.live ?? true) {
      const named = await namedServer(name);
      servers.push(named.server);
      port = named.port;
    } else {
      // A port that was just free: nothing listens there, so a dial is refused.
      const named = await namedServer(name);
      port = named.port;
      await new Promise((resolve) => named.server.close(resolve));
    }
    const object: WireObject = api.pod(name, APP, { ip: '127.0.0.1', ready: opts.ready ?? true });
    object.spec.containers[0].ports = [{ name: 'echo', containerPort: port }];
    api.put('pods', object);
  }

  const readiness = () => targets.readiness(API);

  it('keeps following the pods after the server drops its watches', T, async () => {
    await pod('api-1');
    assert.equal(await nameOf(await targets.dial(API, 2000)), 'api-1');
    api.dropWatches();
    await pod('api-2');
    await pollUntil('the new pod to be seen', async () => {
      const r = readiness();
      return r !== undefined && 'ready' in r && r.ready === 2;
    });
    const held = await targets.dial(API, 2000);
    const next = await targets.dial(API, 2000);
    assert.deepEqual([await nameOf(held), await nameOf(next)].sort(), ['api-1', 'api-2']);
  });

  it(
    "fails a stream with the API's refusal while listing is forbidden, and heals once it is allowed",
    T,
    async () => {
      await pod('api-1');
      api.deny('pods', 'list');
      await assert.rejects(
        targets.dial(API, 1000),
        (err) =>
          isSkiffError(err, 'SKIFF_ERR_FORBIDDEN') &&
          /cannot list resource "pods"/.test(err.message) &&
          /needs verb "list" on "pods"/.test(err.message),
      );
      const allowed = Date.now();
      api.allow('pods', 'list');
      const socket = await pollUntil('a stream to work once allowed', async () =>
        targets.dial(API, 1000).catch(() => undefined),
      );
      assert.equal(await nameOf(socket), 'api-1');
      // Backoff from 200 ms, growing x1.6: a refusal of a few seconds heals within seconds.
      assert.ok(Date.now() - allowed < 10_000);
    },
  );

  it(
    'tries the next ready pod when the chosen one refuses, and names each when all do',
    T,
    async () => {
      await pod('api-1', { live: false });
      await pod('api-2');
      assert.equal(await nameOf(await targets.dial(API, 2000)), 'api-2');
      api.remove('pods', 'api-2');
      await pollUntil('api-2 to be gone', async () => {
        const r = readiness();
        return r !== undefined && 'ready' in r && r.ready === 1;
      });
      await assert.rejects(
        targets.dial(API, 2000),
        (err) =>
          isSkiffError(err, 'SKIFF_ERR_TARGET_UNAVAILABLE') &&
          /^target selector app=api:echo: pod api-1 \(127\.0\.0\.1:\d+\): connect ECONNREFUSED/.test(
            err.message,
          ),
      );
      assert.equal(targets.openEndpoints, 0, 'failed dials leave no stream counted');
    },
  );

  it('says why there is no ready pod: none ready, or none naming the port', T, async () => {
    await pod('api-1', { ready: false });
    await assert.rejects(
      targets.dial(API, 2000),
      (err) =>
        isSkiffError(err, 'SKIFF_ERR_TARGET_UNAVAILABLE') &&
        err.message === 'selector app=api has no ready pod (0 of 1 ready)',
    );
    await pod('api-2');
    await pollUntil('api-2 to be seen', async () => {
      const r = readiness();
      return r !== undefined && 'ready' in r && r.ready === 1;
    });
    await assert.rejects(
      targets.dial({ ...API, targetPort: 'grpc' }, 2000),
      (err) =>
        isSkiffError(err, 'SKIFF_ERR_TARGET_UNAVAILABLE') &&
        err.message ===
          'selector app=api has no ready pod with a port named "grpc" (1 of 2 ready; their containers do not name it)',
    );
  });

  it(
    `follows at most ${MAX_PODS} pods per target: more are refused, and growing past it drops the cache`,
    T,
    async () => {
      for (let i = 0; i < MAX_PODS; i++) {
        api.put('pods', api.pod(`api-${i}`, APP, { ip: '127.0.0.1', ready: false }));
      }
      targets.setConnectors([API]);
      await pollUntil('the pods to be listed', async () => {
        const r = readiness();
        return r !== undefined && 'total' in r && r.total === MAX_PODS;
      });
      api.put('pods', api.pod('api-extra', APP, { ip: '127.0.0.1', ready: false }));
      const over = `pods with app=api are more than ${MAX_PODS}: skiff follows at most ${MAX_PODS}`;
      await pollUntil('the cache to be dropped', async () => {
        const r = readiness();
        return r !== undefined && 'error' in r && r.error === over;
      });
      await assert.rejects(
        targets.dial(API, 1000),
        (err) => isSkiffError(err, 'SKIFF_ERR_LIMIT') && err.message === over,
      );
      // A new watch of a selector that picks too many: refused at its first list.
      const fresh = new KubeTargets(connectKube(), silentLogger);
      try {
        await assert.rejects(
          fresh.dial(API, 1000),
          (err) => isSkiffError(err, 'SKIFF_ERR_LIMIT') && err.message === over,
        );
      } finally {
        fresh.stop();
      }
    },
  );

  it(
    'dials a host:port itself, and the local platform refuses a workload saying why',
    T,
    async () => {
      const { server, port } = await namedServer('plain');
      servers.push(server);
      const plain: ConnectorRecord = { address: 'plain', host: '127.0.0.1', port };
      assert.equal(await nameOf(await targets.dial(plain, 2000)), 'plain');
      assert.deepEqual(targets.followed, []);
      await assert.rejects(
        hostPortTargets.dial(API, 2000),
        (err) =>
          isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT') &&
          err.message ===
            'target selector app=api:echo is a Kubernetes workload: only a site on the kubernetes platform reaches its pods',
      );
    },
  );
});
