/**
 * The kubernetes platform's targets (src/kube/targets.ts, decision 0022) on the test
 * cluster: the real API server and controllers (Deployment, ReplicaSet, StatefulSet,
 * EndpointSlice), echo pods with readiness probes. KubeTargets runs in targets-main.js in
 * the cluster's network namespace, where pod addresses are reachable as from a router pod,
 * as the router's ServiceAccount bound to the Role in deploy/ (so the Role is proven to be
 * enough); the test drives it over a unix socket (target-driver.ts) and counts streams at
 * the pods: each names itself on a stream's first line and logs each stream's hash.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cluster } from '../cluster/cluster.js';
import type { Images } from '../cluster/container-spec.js';
import { type EchoSession, echoSessions } from '../cluster/echo-log.js';
import { echoDeployment, echoStatefulSet, service, UNREADY_FLAG } from '../cluster/manifests.js';
import { controlPlaneUnavailable } from '../controlplane/controlplane.js';
import type { KubectlResult } from '../controlplane/kubectl.js';
import { repoRoot } from '../helpers/cli.js';
import { routerRole } from '../helpers/install.js';
import { pollUntil } from '../helpers/wait.js';
import {
  type Connector,
  type Exchange,
  type Held,
  isExchange,
  type Refused,
  TargetDriver,
} from './target-driver.js';

const unavailable = controlPlaneUnavailable();
// CI always runs these: there a missing build is a failure, not a skip.
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const NS = 'targets';
const IMAGES: Images = {
  'skiff-test/echo:1': {
    entrypoint: [process.execPath, join(repoRoot, 'dist', 'test', 'cluster', 'echo-main.js')],
    cmd: ['8080', '8081'],
  },
};
const MiB = 1024 * 1024;
const POLL = { timeoutMs: 60_000, intervalMs: 100 };

function ok(result: KubectlResult): string {
  assert.equal(result.code, 0, `${result.command} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

describe('kubernetes targets: streams go to ready pods only, following scaling and readiness', {
  skip: unavailable ?? false,
  timeout: 900_000,
}, () => {
  let cluster: Cluster;
  let driver: TargetDriver;

  const kubectl = (...args: string[]) =>
    cluster.kubectl([...args, '-n', NS], { timeoutMs: 100_000 });

  async function apply(...objects: object[]): Promise<void> {
    ok(
      await cluster.kubectl(['apply', '-n', NS, '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
      }),
    );
  }

  before(
    async () => {
      cluster = await Cluster.start({ images: IMAGES });
      ok(await cluster.kubectl(['create', 'namespace', NS]));
      ok(await kubectl('wait', '--for=create', 'serviceaccount/default', '--timeout=30s'));
      // The router's identity, with exactly the Role the install gives it.
      ok(await kubectl('create', 'serviceaccount', 'skiff-router'));
      await apply(routerRole());
      ok(
        await kubectl(
          'create',
          'rolebinding',
          'skiff-router',
          '--role=skiff-router',
          `--serviceaccount=${NS}:skiff-router`,
        ),
      );
      const token = ok(await kubectl('create', 'token', 'skiff-router', '--duration=2h')).trim();
      const kubeconfig = await cluster.controlPlane.tokenKubeconfig('skiff-router', token, NS);
      await pollUntil(
        "the authorizer to apply the router's Role",
        async () => (await cluster.kubectl(['get', 'pods', '-n', NS], { kubeconfig })).code === 0,
        POLL,
      );
      driver = await TargetDriver.start(cluster, kubeconfig);
    },
    { timeout: 240_000 },
  );
  after(async () => {
    await driver?.stop();
    await cluster?.stop();
  });

  async function rollout(kind: 'deployment' | 'statefulset', name: string): Promise<void> {
    ok(await kubectl('rollout', 'status', `${kind}/${name}`, '--timeout=90s'));
  }

  async function podNames(labelSelector: string): Promise<string[]> {
    const { items } = await cluster.api.core.listNamespacedPod({ namespace: NS, labelSelector });
    return items.map((p) => p.metadata!.name!).sort();
  }

  /** The streams a pod has logged as ended: bytes and hash of what came in. */
  function sessions(pod: string): EchoSession[] {
    return echoSessions(cluster.pod(NS, pod).logFile());
  }

  /** The stream came back byte for byte, and the pod that served it logged the same hash. */
  async function assertByteExact(outcome: Exchange | Refused, bytes: number, what: string) {
    assert.ok(isExchange(outcome), `${what}: ${JSON.stringify(outcome)}`);
    assert.equal(outcome.sent, bytes, what);
    assert.equal(outcome.received, bytes, what);
    assert.equal(outcome.receivedSha256, outcome.sentSha256, `${what}: the echo differs`);
    await pollUntil(
      `${outcome.pod} to log the stream's hash`,
      async () =>
        sessions(outcome.pod).some((s) => s.sha256 === outcome.sentSha256 && s.bytes === bytes),
      POLL,
    );
    return outcome;
  }

  async function readiness(connector: Connector) {
    return (await driver.readiness(connector)).readiness;
  }

  /** Waits until the resolver sees `ready` of `total` pods (total undefined: any). */
  async function resolverSees(connector: Connector, ready: number, total?: number): Promise<void> {
    await pollUntil(
      `the resolver to see ${ready} ready pods of ${connector.address}`,
      async () => {
        const r = await readiness(connector);
        return (
          r !== null &&
          'ready' in r &&
          r.ready === ready &&
          (total === undefined || r.total === total)
        );
      },
      POLL,
    );
  }

  /** Opens `count` streams one after another and holds them: which pods took them. */
  async function holdMany(connector: Connector, count: number): Promise<Held[]> {
    const held: Held[] = [];
    for (let i = 0; i < count; i++) {
      const stream = await driver.hold(connector);
      assert.ok(!('error' in stream), `stream ${i}: ${JSON.stringify(stream)}`);
      held.push(stream);
    }
    return held;
  }

  /** Closes the streams and waits until the resolver counts none open. */
  async function closeAll(held: Held[]): Promise<void> {
    await Promise.all(held.map((h) => h.close()));
    await pollUntil(
      'every stream to be released',
      async () =>
        (await driver.readiness({ address: 'x', host: 'x', port: 1 })).openEndpoints === 0,
      POLL,
    );
  }

  function tally(held: Held[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const h of held) counts[h.pod] = (counts[h.pod] ?? 0) + 1;
    return counts;
  }

  /** Waits until each pod has logged `want[pod]` more ended streams than `before[pod]`. */
  async function podsCounted(before: Record<string, number>, want: Record<string, number>) {
    await pollUntil(
      `the pods to log ${JSON.stringify(want)} more streams`,
      async () =>
        Object.entries(want).every(([pod, n]) => sessions(pod).length === (before[pod] ?? 0) + n),
      POLL,
    );
  }

  const sessionCounts = (pods: string[]) =>
    Object.fromEntries(pods.map((p) => [p, sessions(p).length]));

  async function setReady(pod: string, ready: boolean): Promise<void> {
    const result = await cluster
      .pod(NS, pod)
      .exec(ready ? ['rm', UNREADY_FLAG] : ['touch', UNREADY_FLAG]);
    assert.equal(result.code, 0, result.stderr);
  }

  it('deployment/NAME: 1 -> 3 replicas spreads streams over 3 pods, an unready pod gets none, 0 refuses with TARGET_UNAVAILABLE, back to 1 works', {
    timeout: 300_000,
  }, async (t) => {
    await apply(echoDeployment(NS, 'api', 1));
    await rollout('deployment', 'api');
    const api: Connector = {
      address: 'api',
      workload: 'deployment/api',
      port: 7000,
      targetPort: 8080,
    };
    // As the router tells it when a connector is made: it starts watching.
    assert.deepEqual((await driver.setConnectors([api])).followed, ['deployment/api']);
    const [first] = await podNames('app=api');
    const one = await assertByteExact(
      await driver.exchange(api, MiB, 1),
      MiB,
      'deployment/api, 1 MiB',
    );
    assert.equal(one.pod, first);

    // 1 -> 3, a stream held on the first pod: the next goes to a new pod once one is ready.
    const [onFirst] = await holdMany(api, 1);
    const scaled = Date.now();
    ok(await kubectl('scale', 'deployment/api', '--replicas=3'));
    await pollUntil(
      'a stream to reach a new pod',
      async () => {
        const o = await driver.exchange(api, 1024, 2);
        return isExchange(o) && o.pod !== first;
      },
      POLL,
    );
    const toNewPod = Date.now() - scaled;
    await resolverSees(api, 3, 3);
    const toAllThree = Date.now() - scaled;
    t.diagnostic(
      `1 -> 3: a new pod took a stream ${toNewPod} ms after kubectl scale; all 3 ready at the resolver after ${toAllThree} ms`,
    );
    await closeAll([onFirst!]);

    const three = await podNames('app=api');
    assert.equal(three.length, 3);
    let before = sessionCounts(three);
    let held = await holdMany(api, 6);
    assert.deepEqual(tally(held), Object.fromEntries(three.map((p) => [p, 2])), 'two streams each');
    await closeAll(held);
    await podsCounted(before, Object.fromEntries(three.map((p) => [p, 2])));

    // One pod fails its readiness probe: it gets no new streams, the other two share them.
    const unready = three[1]!;
    const others = three.filter((p) => p !== unready);
    const flagged = Date.now();
    await setReady(unready, false);
    await resolverSees(api, 2, 3);
    t.diagnostic(
      `a pod turned unready: out of the resolver's choice ${Date.now() - flagged} ms after its flag (probe period 1 s)`,
    );
    before = sessionCounts(three);
    held = await holdMany(api, 6);
    assert.deepEqual(
      tally(held),
      Object.fromEntries(others.map((p) => [p, 3])),
      `none to ${unready}`,
    );
    await closeAll(held);
    await podsCounted(before, { ...Object.fromEntries(others.map((p) => [p, 3])), [unready]: 0 });
    await setReady(unready, true);
    await resolverSees(api, 3, 3);

    // 0 replicas: refused with the typed error, saying how many are ready of how many.
    const emptied = Date.now();
    ok(await kubectl('scale', 'deployment/api', '--replicas=0'));
    const refused = await pollUntil(
      'streams to be refused',
      async () => {
        const o = await driver.exchange(api, 1024, 3);
        return isExchange(o) ? undefined : o;
      },
      POLL,
    );
    t.diagnostic(
      `3 -> 0: refused ${Date.now() - emptied} ms after kubectl scale: ${refused.error}`,
    );
    assert.equal(refused.code, 'SKIFF_ERR_TARGET_UNAVAILABLE');
    assert.match(
      refused.error,
      /^deployment\/api has no ready pod \(0 of [0-3] ready, 0 wanted\)$/,
    );
    await resolverSees(api, 0, 0);
    const none = await driver.exchange(api, 1024, 3);
    assert.deepEqual(none, {
      error: 'deployment/api has no ready pod (0 of 0 ready, 0 wanted)',
      code: 'SKIFF_ERR_TARGET_UNAVAILABLE',
    });

    // Back to 1: streams flow again, to the new pod.
    const refilled = Date.now();
    ok(await kubectl('scale', 'deployment/api', '--replicas=1'));
    const back = await pollUntil(
      'a stream to work again',
      async () => {
        const o = await driver.exchange(api, MiB, 4);
        return isExchange(o) ? o : undefined;
      },
      POLL,
    );
    t.diagnostic(`0 -> 1: a stream worked ${Date.now() - refilled} ms after kubectl scale`);
    await assertByteExact(back, MiB, 'deployment/api back at 1 replica');
    assert.deepEqual(await podNames('app=api'), [back.pod]);
    assert.equal(three.includes(back.pod), false, 'a new pod');
  });

  it('service/NAME: its ready endpoints at the port a named targetPort resolves to through the EndpointSlices', {
    timeout: 180_000,
  }, async () => {
    await apply(echoDeployment(NS, 'web', 2), service(NS, 'web', 7000, { app: 'web' }));
    await rollout('deployment', 'web');
    const pods = await podNames('app=web');
    // Service port `echo` (7000) -> the pods' port named `echo` (8080), as the slices say.
    const web: Connector = {
      address: 'web',
      workload: 'service/web',
      port: 80,
      targetPort: 'echo',
    };
    await driver.setConnectors([web]);
    await resolverSees(web, 2, 2);
    await assertByteExact(await driver.exchange(web, MiB, 5), MiB, 'service/web:echo, 1 MiB');
    let held = await holdMany(web, 4);
    assert.deepEqual(tally(held), Object.fromEntries(pods.map((p) => [p, 2])));
    await closeAll(held);

    // By the Service's port number, and by default the connector's own port.
    const byNumber = await driver.exchange({ ...web, targetPort: 7000 }, 4096, 6);
    await assertByteExact(byNumber, 4096, 'service/web:7000');
    const byDefault = await driver.exchange(
      { address: 'web', workload: 'service/web', port: 7000 },
      4096,
      7,
    );
    await assertByteExact(byDefault, 4096, 'service/web, port 7000');
    assert.deepEqual(await driver.exchange({ ...web, targetPort: 'nope' }, 1, 1), {
      error: 'service/web has no TCP port named "nope"; its ports: 7000 (echo)',
      code: 'SKIFF_ERR_NOT_FOUND',
    });

    // An endpoint the slices list as not ready gets no streams.
    const [unready, ready] = pods as [string, string];
    await setReady(unready, false);
    await resolverSees(web, 1, 2);
    held = await holdMany(web, 3);
    assert.deepEqual(tally(held), { [ready]: 3 });
    await closeAll(held);
    await setReady(unready, true);
    await resolverSees(web, 2, 2);

    assert.deepEqual(
      await driver.exchange({ address: 'x', workload: 'service/absent', port: 80 }, 1, 1),
      {
        error: `there is no service/absent in namespace ${NS}`,
        code: 'SKIFF_ERR_NOT_FOUND',
      },
    );
  });

  it('statefulset/NAME: its pods, at a named container port', { timeout: 180_000 }, async () => {
    await apply(echoStatefulSet(NS, 'db', 2));
    await rollout('statefulset', 'db');
    const db: Connector = {
      address: 'db',
      workload: 'statefulset/db',
      port: 5432,
      targetPort: 'echo',
    };
    await driver.setConnectors([db]);
    await resolverSees(db, 2, 2);
    const one = await assertByteExact(
      await driver.exchange(db, MiB, 8),
      MiB,
      'statefulset/db, 1 MiB',
    );
    assert.match(one.pod, /^db-[01]$/);
    const held = await holdMany(db, 2);
    assert.deepEqual(tally(held), { 'db-0': 1, 'db-1': 1 });
    await closeAll(held);
    assert.deepEqual(await driver.exchange({ ...db, targetPort: 'http' }, 1, 1), {
      error:
        'statefulset/db has no ready pod with a port named "http" (2 of 2 ready, 2 wanted; their containers do not name it)',
      code: 'SKIFF_ERR_TARGET_UNAVAILABLE',
    });
  });

  it('--selector: the ready pods carrying every label, across workloads', {
    timeout: 180_000,
  }, async () => {
    const shop = { tier: 'shop' };
    await apply(
      echoDeployment(NS, 'blue', 1, { labels: shop }),
      echoDeployment(NS, 'green', 1, { labels: shop }),
    );
    await rollout('deployment', 'blue');
    await rollout('deployment', 'green');
    const [blue] = await podNames('app=blue');
    const [green] = await podNames('app=green');
    const all: Connector = { address: 'shop', selector: 'tier=shop', port: 7000, targetPort: 8080 };
    await assertByteExact(await driver.exchange(all, MiB, 9), MiB, 'selector tier=shop, 1 MiB');
    let held = await holdMany(all, 2);
    assert.deepEqual(tally(held), { [blue!]: 1, [green!]: 1 });
    await closeAll(held);
    const blueOnly: Connector = { ...all, selector: 'tier=shop,app=blue' };
    held = await holdMany(blueOnly, 2);
    assert.deepEqual(tally(held), { [blue!]: 2 });
    await closeAll(held);
  });

  it('follows a workload made after its connector, and stops watching targets no connector names', {
    timeout: 120_000,
  }, async () => {
    const late: Connector = {
      address: 'late',
      workload: 'deployment/late',
      port: 7000,
      targetPort: 8080,
    };
    assert.deepEqual(await driver.exchange(late, 1, 1), {
      error: `there is no deployment/late in namespace ${NS}`,
      code: 'SKIFF_ERR_NOT_FOUND',
    });
    await apply(echoDeployment(NS, 'late', 1));
    const made = await pollUntil(
      'deployment/late to take a stream',
      async () => {
        const o = await driver.exchange(late, 4096, 10);
        return isExchange(o) ? o : undefined;
      },
      POLL,
    );
    await assertByteExact(made, 4096, 'deployment/late');

    const api: Connector = { address: 'api', workload: 'deployment/api', port: 7000 };
    const web: Connector = { address: 'web', workload: 'service/web', port: 7000 };
    const { followed } = await driver.setConnectors([
      api,
      web,
      { address: 'db', host: 'db.example', port: 5432 },
    ]);
    assert.deepEqual([...followed].sort(), ['deployment/api', 'service/web']);
    assert.deepEqual((await driver.setConnectors([])).followed, []);
    await driver.untilUnfollowed([
      'deployment/late',
      'statefulset/db',
      'selector tier=shop',
      'service/web',
    ]);
    assert.equal((await driver.readiness(api)).readiness, null, 'nothing is kept for it');
    assert.equal((await driver.readiness(api)).openEndpoints, 0);
  });
});
