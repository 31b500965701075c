import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { Cluster } from '../cluster/cluster.js';
import type { Images } from '../cluster/container-spec.js';
import { type ClientOutcome, echoSessions } from '../cluster/echo-log.js';
import { echoDeployment } from '../cluster/manifests.js';
import { controlPlaneUnavailable } from '../controlplane/controlplane.js';
import type { KubectlResult } from '../controlplane/kubectl.js';
import { repoRoot, skiffBin } from '../helpers/cli.js';
import { routerRole } from '../helpers/install.js';
import { pollUntil } from '../helpers/wait.js';
import { manifests, recordManifest } from './records.js';

/**
 * The whole proxy path on the test cluster (test/cluster: kubelet, kube-proxy and DNS
 * played by the harness around the real control plane): a router pod in each of two
 * namespaces, each as its ServiceAccount with deploy/'s Role, linked through the `skiff`
 * link Service by a token; `api` exposed at one as `deployment/api`; an app pod at the
 * other reaches `api:8080` by name, through the proxy Service's ClusterIP to the router
 * pod, over the link, to a ready echo pod. Both ends hash what they saw.
 */

const unavailable = controlPlaneUnavailable();
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const IMAGES: Images = {
  'skiff-test/echo:1': {
    entrypoint: [process.execPath, join(repoRoot, 'dist', 'test', 'cluster', 'echo-main.js')],
    cmd: ['8080', '8081'],
  },
  skiff: { entrypoint: [process.execPath, skiffBin] },
};
const CLIENT = join(repoRoot, 'dist', 'test', 'cluster', 'tcp-client-main.js');
const POLL = { timeoutMs: 90_000, intervalMs: 200 };
const ROUTER_LABELS = {
  'app.kubernetes.io/name': 'skiff',
  'app.kubernetes.io/component': 'router',
};
const RUN_DIR = '/run/skiff';
const MiB = 1024 * 1024;

function ok(result: KubectlResult | { code: number | null; stdout: string; stderr: string }) {
  assert.equal(result.code, 0, `exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** The router as a pod: `site run --platform kubernetes` as deploy/'s Deployment runs it. */
function routerPod(): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'router', labels: ROUTER_LABELS },
    spec: {
      serviceAccountName: 'skiff-router',
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'router',
          image: 'skiff',
          args: [
            '--state-dir',
            RUN_DIR,
            'site',
            'run',
            '--platform',
            'kubernetes',
            '--health-port',
            '9090',
            '--health-host',
            '0.0.0.0',
          ],
          env: [
            {
              name: 'SKIFF_NAMESPACE',
              valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
            },
            { name: 'SKIFF_LOG_LEVEL', value: 'info' },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port: 9090 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/** The link Service deploy/ makes: `skiff`, port 8443 to the router pod. */
function linkService(): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'skiff' },
    spec: { selector: ROUTER_LABELS, ports: [{ name: 'link', port: 8443, targetPort: 8443 }] },
  };
}

/** An app pod: echo-main.js idles in it, and the test runs its client there (exec). */
function appPod(): V1Pod {
  const pod = echoDeployment('', 'app', 1).spec!.template;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app' }, spec: pod.spec! };
}

describe('the proxy path on the test cluster', {
  skip: unavailable ?? false,
  timeout: 600_000,
}, () => {
  let cluster: Cluster;

  before(
    async () => {
      cluster = await Cluster.start({ images: IMAGES });
    },
    { timeout: 240_000 },
  );
  after(() => cluster?.stop());

  const kubectl = (ns: string, args: string[], input?: string) =>
    cluster.kubectl([...args, '-n', ns], {
      timeoutMs: 100_000,
      ...(input === undefined ? {} : { input }),
    });

  async function apply(ns: string, yaml: string): Promise<void> {
    ok(await kubectl(ns, ['apply', '-f', '-'], yaml));
  }

  /** A namespace with the router's identity and deploy/'s Role, its router pod and link Service. */
  async function site(ns: string): Promise<void> {
    ok(await cluster.kubectl(['create', 'namespace', ns]));
    ok(await kubectl(ns, ['wait', '--for=create', 'serviceaccount/default', '--timeout=30s']));
    ok(await kubectl(ns, ['create', 'serviceaccount', 'skiff-router']));
    await apply(ns, manifests(routerRole() as unknown as Record<string, unknown>));
    ok(
      await kubectl(ns, [
        'create',
        'rolebinding',
        'skiff-router',
        '--role=skiff-router',
        `--serviceaccount=${ns}:skiff-router`,
      ]),
    );
    await apply(
      ns,
      manifests(
        routerPod() as unknown as Record<string, unknown>,
        linkService() as unknown as Record<string, unknown>,
      ),
    );
    ok(await kubectl(ns, ['wait', '--for=condition=Ready', 'pod/router', '--timeout=90s']));
  }

  /** `skiff --state-dir RUN_DIR ARGS` in the router pod, as `kubectl exec` would run it. */
  function skiff(ns: string, args: string[], input?: string) {
    return cluster
      .pod(ns, 'router')
      .exec([process.execPath, skiffBin, '--state-dir', RUN_DIR, ...args], undefined, input);
  }

  it('an app pod reaches api:8080 by name at the other site, 64 MiB each way hashed at both ends', {
    timeout: 420_000,
  }, async (t) => {
    const east = 'east';
    const west = 'west';
    await site(east);
    await site(west);
    await apply(west, manifests(appPod() as unknown as Record<string, unknown>));

    // The token leaves east's router pod on stdout and enters west's on stdin.
    ok(await skiff(east, ['token', 'create', `${RUN_DIR}/token.yaml`]));
    const token = ok(await cluster.pod(east, 'router').exec(['cat', `${RUN_DIR}/token.yaml`]));
    ok(
      await cluster
        .pod(west, 'router')
        .exec(['sh', '-c', `cat > ${RUN_DIR}/token.yaml`], undefined, token),
    );
    ok(await skiff(west, ['link', 'create', `${RUN_DIR}/token.yaml`, '--name', 'to-east']));
    await pollUntil(
      'the link to be up',
      async () => {
        const status = JSON.parse(ok(await skiff(west, ['-o', 'json', 'status']))) as {
          links: { state: string }[];
        };
        return status.links.some((l) => l.state === 'up');
      },
      POLL,
    );

    await apply(
      east,
      manifests(echoDeployment(east, 'api', 1) as unknown as Record<string, unknown>),
    );
    ok(await kubectl(east, ['rollout', 'status', 'deployment/api', '--timeout=90s']));
    const t0 = performance.now();
    await apply(
      east,
      manifests(
        recordManifest('connector', 'api', {
          address: 'api',
          workload: 'deployment/api',
          port: 8080,
        }),
      ),
    );
    const applied = performance.now();
    const svc = await pollUntil(
      'the proxy Service api at the other site',
      async () =>
        cluster.api.core
          .readNamespacedService({ name: 'api', namespace: west })
          .catch(() => undefined),
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    t.diagnostic(
      `kubectl apply of the connector to the proxy Service at the other site: ${Math.round(performance.now() - t0)} ms (${Math.round(performance.now() - applied)} ms after kubectl returned; polled every 20 ms)`,
    );
    assert.equal(svc.spec?.ports?.[0]?.port, 8080);
    assert.deepEqual(svc.spec?.selector, ROUTER_LABELS);

    const bytes = 64 * MiB;
    let streamMs = 0;
    const run = async () => {
      const s0 = performance.now();
      const result = await cluster
        .pod(west, 'app')
        .exec([process.execPath, CLIENT, 'api', '8080', String(bytes), '7', '1']);
      streamMs = performance.now() - s0;
      return JSON.parse(ok(result).trim().split('\n').pop()!) as ClientOutcome;
    };
    // The Service's endpoint (the router pod) reaches kube-proxy's rules a moment after it is made.
    const outcome = await pollUntil(
      'a stream through api:8080',
      async () => {
        const o = await run();
        return o.error === undefined && o;
      },
      POLL,
    );
    t.diagnostic(
      `kubectl apply of the connector to the first stream through api:8080 at the other site: ${Math.round(performance.now() - t0)} ms; the stream (64 MiB each way, with the client's start) took ${Math.round(streamMs)} ms`,
    );
    assert.equal(outcome.sent, bytes);
    assert.equal(outcome.received, bytes);
    assert.equal(outcome.receivedSha256, outcome.sentSha256, 'the echo is byte-exact');
    assert.match(outcome.pod ?? '', /^api-/);
    await pollUntil(
      'the echo pod to log the same hash',
      async () =>
        echoSessions(cluster.pod(east, outcome.pod!).logFile()).some(
          (s) => s.sha256 === outcome.sentSha256 && s.bytes === bytes,
        ),
      POLL,
    );
  });
});
