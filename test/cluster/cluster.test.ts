import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Deployment, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { controlPlaneUnavailable, SERVICE_ACCOUNT_ISSUER } from '../controlplane/controlplane.js';
import type { KubectlResult } from '../controlplane/kubectl.js';
import { repoRoot } from '../helpers/cli.js';
import { pollUntil } from '../helpers/wait.js';
import { Cluster } from './cluster.js';
import type { Images } from './container-spec.js';
import type { ClientOutcome } from './echo-log.js';
import { NODE_NAME } from './kubelet.js';
import { echoDeployment, envFromPod, service } from './manifests.js';
import { etcDir, GATEWAY } from './network.js';
import type { PodRunner } from './pod-runner.js';

/**
 * The test cluster: the real control plane in a network namespace, with the test playing
 * kubelet, kube-proxy and DNS around it. What each later Kubernetes test takes for granted
 * (pods Ready with their own addresses in the EndpointSlices, Service names reaching ready
 * endpoints only, restarts, service-account identity in the pod, graceful deletion, a clean
 * teardown) is proven here against the real API server and controllers.
 */

const unavailable = controlPlaneUnavailable();
// CI always runs these: there a missing build is a failure, not a skip.
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const MAIN = (file: string): string => join(repoRoot, 'dist', 'test', 'cluster', file);
const NODE = process.execPath;
const IMAGES: Images = {
  'skiff-test/echo:1': { entrypoint: [NODE, MAIN('echo-main.js')], cmd: ['8080', '8081'] },
  'skiff-test/whoami:1': { entrypoint: [NODE, MAIN('whoami-main.js')] },
  'skiff-test/idle:1': { entrypoint: ['sleep', 'infinity'] },
};
const MiB = 1024 * 1024;
const POLL = { timeoutMs: 30_000, intervalMs: 200 };

function ok(result: KubectlResult): string {
  assert.equal(result.code, 0, `${result.command} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

function idleDeployment(namespace: string, name: string): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'idle', image: 'skiff-test/idle:1' }],
        },
      },
    },
  };
}

describe('the test cluster: the real control plane, with the test as kubelet, kube-proxy and DNS', {
  skip: unavailable ?? false,
  timeout: 900_000,
}, () => {
  let cluster: Cluster;
  let startMs = 0;

  before(
    async () => {
      const started = Date.now();
      cluster = await Cluster.start({ images: IMAGES });
      startMs = Date.now() - started;
    },
    { timeout: 180_000 },
  );
  after(() => cluster?.stop());

  async function apply(...objects: object[]): Promise<void> {
    ok(
      await cluster.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
      }),
    );
  }

  async function createNamespace(name: string): Promise<void> {
    ok(await cluster.kubectl(['create', 'namespace', name]));
    // Pods need their namespace's `default` ServiceAccount, made by the serviceaccount controller.
    ok(
      await cluster.kubectl([
        'wait',
        '--for=create',
        'serviceaccount/default',
        '-n',
        name,
        '--timeout=30s',
      ]),
    );
  }

  /** kubectl's own wait (a watch) for a Deployment's replicas to be updated and available. */
  async function rollout(namespace: string, name: string): Promise<void> {
    ok(
      await cluster.kubectl(
        ['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=90s'],
        {
          timeoutMs: 100_000,
        },
      ),
    );
  }

  async function pods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (await cluster.api.core.listNamespacedPod({ namespace, labelSelector })).items;
  }

  async function podNamed(namespace: string, labelSelector: string): Promise<PodRunner> {
    const [pod] = await pods(namespace, labelSelector);
    assert.ok(pod?.metadata?.name, `no pod matches ${labelSelector} in ${namespace}`);
    return cluster.pod(namespace, pod.metadata.name);
  }

  function condition(pod: V1Pod, type: string): string | undefined {
    return pod.status?.conditions?.find((c) => c.type === type)?.status;
  }

  /** The addresses the Service's EndpointSlices list as ready, and as not ready. */
  async function sliceAddresses(
    namespace: string,
    name: string,
  ): Promise<{ ready: string[]; notReady: string[] }> {
    const slices = await cluster.api.discovery.listNamespacedEndpointSlice({
      namespace,
      labelSelector: `kubernetes.io/service-name=${name}`,
    });
    const endpoints = slices.items.flatMap((s) => s.endpoints ?? []);
    const pick = (ready: boolean): string[] =>
      endpoints
        .filter((e) => (e.conditions?.ready ?? true) === ready)
        .flatMap((e) => e.addresses)
        .sort();
    return { ready: pick(true), notReady: pick(false) };
  }

  type Outcome = ClientOutcome;

  /** Runs tcp-client-main.js in `client`'s pod: `count` connections to host:port, each `bytes` each way. */
  async function connect(
    client: PodRunner,
    host: string,
    port: number,
    bytes: number,
    count: number,
  ): Promise<Outcome[]> {
    const result = await client.exec([
      NODE,
      MAIN('tcp-client-main.js'),
      host,
      String(port),
      String(bytes),
      '7',
      String(count),
    ]);
    assert.equal(
      result.code,
      0,
      `tcp-client-main.js in ${client.name} exited ${result.code}: ${result.stderr}`,
    );
    return result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Outcome);
  }

  function logEvents(file: string): Array<Record<string, unknown>> {
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  function assertByteExact(outcome: Outcome, bytes: number, what: string): void {
    assert.equal(outcome.error, undefined, `${what}: ${outcome.error}`);
    assert.equal(outcome.sent, bytes, what);
    assert.equal(outcome.received, bytes, what);
    assert.equal(
      outcome.receivedSha256,
      outcome.sentSha256,
      `${what}: the echo differs from what was sent`,
    );
  }

  it("runs a Deployment's 2 replicas Running and Ready on their own addresses, listed in the EndpointSlice, and reached by the Service's name byte-exact", {
    timeout: 180_000,
  }, async (t) => {
    t.diagnostic(`control plane and harness ready in ${startMs} ms`);
    const ns = 'apps';
    await createNamespace(ns);
    const applied = Date.now();
    await apply(
      echoDeployment(ns, 'echo', 2),
      service(ns, 'echo', 7000, { app: 'echo' }),
      idleDeployment(ns, 'client'),
    );
    await rollout(ns, 'echo');
    const rolledOut = Date.now() - applied;
    const echoes = await pods(ns, 'app=echo');
    assert.equal(echoes.length, 2);
    for (const pod of echoes) {
      const name = pod.metadata?.name;
      assert.equal(pod.spec?.nodeName, NODE_NAME, `${name} bound to the node`);
      assert.equal(pod.status?.phase, 'Running', name);
      assert.equal(condition(pod, 'Ready'), 'True', name);
      assert.equal(condition(pod, 'ContainersReady'), 'True', name);
      assert.equal(pod.status?.hostIP, GATEWAY, name);
      assert.match(pod.status?.podIP ?? '', /^10\.244\.\d+\.\d+$/, name);
      assert.deepEqual(
        pod.status?.podIPs?.map((a) => a.ip),
        [pod.status?.podIP],
        name,
      );
    }
    const ips = echoes.map((p) => p.status!.podIP!).sort();
    assert.notEqual(ips[0], ips[1], 'each pod has its own address');
    const readyAfter = echoes.map((p) => cluster.pod(ns, p.metadata!.name!).readyAfterMs);
    t.diagnostic(
      `2 pods Ready ${rolledOut} ms after kubectl apply (kubelet: ${readyAfter.join(', ')} ms from first sight to Ready)`,
    );

    await pollUntil(
      'the EndpointSlice of echo to list both pods ready',
      async () => {
        const { ready } = await sliceAddresses(ns, 'echo');
        return ready.join() === ips.join();
      },
      POLL,
    );
    await cluster.proxy.waitForBackends(ns, 'echo', 7000, ips);
    await rollout(ns, 'client');
    const client = await podNamed(ns, 'app=client');
    const seen = new Set<string>();
    for (const host of ['echo', 'echo.apps', 'echo.apps.svc.cluster.local']) {
      const outcomes = await connect(client, host, 7000, MiB, 2);
      outcomes.forEach((o, i) => {
        assertByteExact(o, MiB, `${host}:7000 connection ${i}`);
        seen.add(o.pod!);
      });
      for (const o of outcomes) {
        const server = cluster.pod(ns, o.pod!);
        await pollUntil(
          `${o.pod} to log the session's hash`,
          async () =>
            logEvents(server.logFile()).some(
              (e) => e.event === 'session' && e.sha256 === o.sentSha256 && e.bytes === MiB,
            ),
          POLL,
        );
      }
    }
    assert.deepEqual(
      [...seen].sort(),
      echoes.map((p) => p.metadata!.name!).sort(),
      'connections reach both pods',
    );
  });

  it('keeps a pod whose readiness probe fails out of the Service, and follows readiness and scaling 2 -> 0 -> 1', {
    timeout: 240_000,
  }, async () => {
    const ns = 'ready';
    await createNamespace(ns);
    const tier = { tier: 'sink' };
    await apply(
      echoDeployment(ns, 'sink', 2, { labels: tier }),
      echoDeployment(ns, 'sink-unready', 1, { labels: tier, readyPath: '/never' }),
      service(ns, 'sink', 7000, tier),
      idleDeployment(ns, 'client'),
    );
    await rollout(ns, 'sink');
    await rollout(ns, 'client');
    const client = await podNamed(ns, 'app=client');
    const unready = await pollUntil(
      'the unready pod to run',
      async () => {
        const [pod] = await pods(ns, 'app=sink-unready');
        return pod?.status?.phase === 'Running' && pod.status.podIP ? pod : undefined;
      },
      POLL,
    );
    assert.equal(condition(unready, 'Ready'), 'False');
    assert.equal(condition(unready, 'ContainersReady'), 'False');
    const readyIps = (await pods(ns, 'app=sink')).map((p) => p.status!.podIP!).sort();
    await pollUntil(
      'the EndpointSlice to list 2 ready and 1 unready',
      async () => {
        const got = await sliceAddresses(ns, 'sink');
        return (
          got.ready.join() === readyIps.join() && got.notReady.join() === unready.status!.podIP
        );
      },
      POLL,
    );
    await cluster.proxy.waitForBackends(ns, 'sink', 7000, readyIps);
    const spread = await connect(client, 'sink', 7000, 1024, 12);
    for (const o of spread) assertByteExact(o, 1024, 'a connection to sink');
    const names = new Set(spread.map((o) => o.pod));
    assert.equal(names.has(unready.metadata!.name!), false, 'the unready pod got a connection');
    assert.equal(names.size, 2, 'both ready pods take connections');

    ok(await cluster.kubectl(['scale', 'deployment/sink', '--replicas=0', '-n', ns]));
    await pollUntil(
      'the ready pods to be gone',
      async () => (await pods(ns, 'app=sink')).length === 0,
      POLL,
    );
    await pollUntil(
      'the EndpointSlice to list no ready pod',
      async () => (await sliceAddresses(ns, 'sink')).ready.length === 0,
      POLL,
    );
    await cluster.proxy.waitForBackends(ns, 'sink', 7000, []);
    const refused = await connect(client, 'sink', 7000, 1024, 3);
    assert.deepEqual(
      refused.map((o) => o.error),
      ['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED'],
    );

    ok(await cluster.kubectl(['scale', 'deployment/sink', '--replicas=1', '-n', ns]));
    await rollout(ns, 'sink');
    const [back] = await pods(ns, 'app=sink');
    const backIp = back!.status!.podIP!;
    assert.equal(readyIps.includes(backIp), false, 'a new pod gets a new address');
    await cluster.proxy.waitForBackends(ns, 'sink', 7000, [backIp]);
    const again = await connect(client, 'sink', 7000, 1024, 4);
    assert.deepEqual(
      again.map((o) => o.pod),
      Array(4).fill(back!.metadata!.name),
    );

    // Readiness followed while the pod runs: its flag makes /ready answer 503.
    const runner = cluster.pod(ns, back!.metadata!.name!);
    assert.equal((await runner.exec(['touch', '/run/flags/unready'])).code, 0);
    await pollUntil(
      'the pod to turn unready',
      async () => {
        const [pod] = await pods(ns, 'app=sink');
        return condition(pod!, 'Ready') === 'False';
      },
      POLL,
    );
    await cluster.proxy.waitForBackends(ns, 'sink', 7000, []);
    assert.equal((await connect(client, 'sink', 7000, 1024, 1))[0]!.error, 'ECONNREFUSED');
    assert.equal((await runner.exec(['rm', '/run/flags/unready'])).code, 0);
    await cluster.proxy.waitForBackends(ns, 'sink', 7000, [backIp]);
    assertByteExact((await connect(client, 'sink', 7000, 1024, 1))[0]!, 1024, 'once ready again');
  });

  it('restarts a crashed process and one whose liveness probe fails, counting restarts on the same address', {
    timeout: 120_000,
  }, async () => {
    const ns = 'restarts';
    await createNamespace(ns);
    await apply(echoDeployment(ns, 'echo', 1, { liveness: true }));
    await rollout(ns, 'echo');
    const runner = await podNamed(ns, 'app=echo');
    const ip = runner.ip;
    const firstPid = runner.container().pid;
    const status = async (): Promise<V1Pod> =>
      cluster.api.core.readNamespacedPodStatus({ name: runner.name, namespace: ns });
    const restartedReady = (count: number) => async (): Promise<V1Pod | undefined> => {
      const pod = await status();
      const container = pod.status?.containerStatuses?.[0];
      return container?.restartCount === count &&
        container.ready &&
        condition(pod, 'Ready') === 'True'
        ? pod
        : undefined;
    };

    runner.container().crash();
    const crashed = await pollUntil(
      'the crashed container to be restarted and ready',
      restartedReady(1),
      POLL,
    );
    const last = crashed.status?.containerStatuses?.[0]?.lastState?.terminated;
    assert.equal(last?.exitCode, 137, 'SIGKILL');
    assert.equal(crashed.status?.podIP, ip, 'a restart keeps the pod and its address');
    assert.notEqual(runner.container().pid, firstPid, 'a new process');

    runner.container().signal('SIGUSR1');
    await pollUntil(
      'the container failing liveness to be restarted and ready',
      restartedReady(2),
      POLL,
    );
    const events = logEvents(runner.logFile()).map((e) => e.event);
    assert.ok(
      events.includes('unhealthy') && events.includes('sigterm'),
      `the log: ${events.join(', ')}`,
    );
    assert.equal(events.filter((e) => e === 'listening').length, 3, 'started three times');
  });

  it("mounts the ServiceAccount's token, the CA and the namespace: the pod's own in-cluster client is that ServiceAccount", {
    timeout: 120_000,
  }, async () => {
    const ns = 'identity';
    await createNamespace(ns);
    ok(await cluster.kubectl(['create', 'serviceaccount', 'robot', '-n', ns]));
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'whoami', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'whoami' } },
        template: {
          metadata: { labels: { app: 'whoami' } },
          spec: {
            serviceAccountName: 'robot',
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 },
            containers: [
              {
                name: 'whoami',
                image: 'skiff-test/whoami:1',
                env: envFromPod,
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ['ALL'] },
                },
              },
            ],
          },
        },
      },
    });
    await rollout(ns, 'whoami');
    const runner = await podNamed(ns, 'app=whoami');
    const seen = await pollUntil(
      'the pod to say who it is',
      async () => logEvents(runner.logFile()).find((e) => e.event === 'whoami'),
      POLL,
    );
    const sa = `system:serviceaccount:${ns}:robot`;
    assert.equal(seen.error, undefined);
    assert.equal(seen.uid, 1000);
    assert.equal(seen.gid, 1000);
    assert.equal(seen.namespace, ns);
    assert.equal(seen.caIsPem, true);
    assert.equal(seen.server, 'https://10.96.0.1:443', 'through the kubernetes Service');
    assert.equal(seen.username, sa, 'the SelfSubjectReview names the ServiceAccount');
    const claims = seen.claims as {
      sub: string;
      aud: string[];
      'kubernetes.io': { pod: { name: string } };
    };
    assert.equal(claims.sub, sa);
    assert.deepEqual(claims.aud, [SERVICE_ACCOUNT_ISSUER]);
    assert.equal(claims['kubernetes.io'].pod.name, runner.name, 'the token is bound to the pod');
    assert.match(
      String(seen.forbidden),
      new RegExp(
        `secrets is forbidden: User \\\\?"${sa}\\\\?" cannot list resource \\\\?"secrets\\\\?"`,
      ),
    );
    assert.deepEqual(seen.env, { POD_NAME: runner.name, POD_NAMESPACE: ns, POD_IP: runner.ip });

    // runAsNonRoot with no user: the kubelet refuses to start it, and says why.
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'rooted', namespace: ns },
      spec: {
        securityContext: { runAsNonRoot: true },
        containers: [{ name: 'idle', image: 'skiff-test/idle:1' }],
      },
    });
    const waiting = await pollUntil(
      'the rooted pod to be refused',
      async () => {
        const pod = await cluster.api.core.readNamespacedPodStatus({
          name: 'rooted',
          namespace: ns,
        });
        return pod.status?.containerStatuses?.[0]?.state?.waiting;
      },
      POLL,
    );
    assert.equal(waiting.reason, 'CreateContainerConfigError');
    assert.equal(waiting.message, 'container has runAsNonRoot and image will run as root');
  });

  it('stops a deleted pod with SIGTERM, SIGKILL after its grace period, and finalises the Pod object', {
    timeout: 120_000,
  }, async (t) => {
    const ns = 'grace';
    await createNamespace(ns);
    const pod = (name: string, graceSeconds: number, env: V1EnvVar[]): V1Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns },
      spec: {
        terminationGracePeriodSeconds: graceSeconds,
        containers: [{ name: 'echo', image: 'skiff-test/echo:1', env: [...envFromPod, ...env] }],
      },
    });
    await apply(
      pod('polite', 30, []),
      pod('stubborn', 2, [{ name: 'IGNORE_SIGTERM', value: '1' }]),
    );
    ok(
      await cluster.kubectl([
        'wait',
        '--for=condition=Ready',
        'pod/polite',
        'pod/stubborn',
        '-n',
        ns,
        '--timeout=60s',
      ]),
    );
    for (const [name, min, max] of [
      ['polite', 0, 5_000],
      ['stubborn', 2_000, 10_000],
    ] as const) {
      const runner = cluster.pod(ns, name);
      const { netns } = runner;
      const pid = runner.container().pid!;
      const log = runner.logFile();
      const started = Date.now();
      ok(
        await cluster.kubectl(['delete', 'pod', name, '-n', ns, '--wait=true', '--timeout=30s'], {
          timeoutMs: 40_000,
        }),
      );
      const took = Date.now() - started;
      t.diagnostic(`${name} deleted in ${took} ms`);
      assert.ok(took >= min && took < max, `${name} took ${took} ms, not within [${min}, ${max})`);
      assert.ok(
        logEvents(log).some((e) => e.event === 'sigterm'),
        `${name} got SIGTERM first`,
      );
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `${name}'s process is gone`);
      assert.equal(cluster.namespaces.includes(netns!), false, `${name}'s namespace is gone`);
      assert.match((await cluster.kubectl(['get', 'pod', name, '-n', ns])).stderr, /\(NotFound\)/);
    }
  });

  it('leaves no network namespace, process or directory once stopped', {
    timeout: 60_000,
  }, async (t) => {
    const { pids, namespaces, dirs } = cluster;
    assert.ok(namespaces.length > 1, 'pods run in namespaces of their own');
    const started = Date.now();
    await cluster.stop();
    t.diagnostic(
      `stopped ${pids.length} processes and ${namespaces.length} namespaces in ${Date.now() - started} ms`,
    );
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const ns of namespaces) {
      assert.equal(left.includes(ns), false, `namespace ${ns} is still there`);
      assert.equal(existsSync(etcDir(ns)), false, `${etcDir(ns)} is still there`);
    }
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} still runs`);
    }
    for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} is still there`);
  });
});
