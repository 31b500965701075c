import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pollUntil } from '../helpers/wait.js';
import { controlPlaneVersions } from './binaries.js';
import { ControlPlane, controlPlaneUnavailable, SERVICE_ACCOUNT_ISSUER } from './controlplane.js';
import type { KubectlResult } from './kubectl.js';

/**
 * The test control plane itself: what later tests of the Kubernetes platform take for
 * granted (TLS, client-certificate and token authentication, RBAC, the controllers) holds
 * on the real etcd, kube-apiserver and kube-controller-manager, and nothing outlives it.
 */

const unavailable = controlPlaneUnavailable();
// CI always runs these: there a missing build is a failure, not a skip.
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

function ok(result: KubectlResult): string {
  assert.equal(result.code, 0, `${result.command} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

function items<T>(result: KubectlResult): T[] {
  return (JSON.parse(ok(result)) as { items: T[] }).items;
}

interface Meta {
  metadata: {
    name: string;
    namespace?: string;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
}

function deployment(namespace: string, name: string, replicas: number): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        // Never pulled: no kubelet runs here, so the pods stay Pending.
        spec: { containers: [{ name, image: 'registry.invalid/skiff-test:1' }] },
      },
    },
  });
}

describe('the test control plane', { skip: unavailable ?? false, timeout: 600_000 }, () => {
  let cp: ControlPlane;
  let startMs = 0;

  before(
    async () => {
      const started = Date.now();
      cp = await ControlPlane.start();
      startMs = Date.now() - started;
    },
    { timeout: 180_000 },
  );
  after(() => cp?.stop());

  it('serves kubectl with the admin kubeconfig, as the version built', async (t) => {
    t.diagnostic(`control plane ready in ${startMs} ms`);
    const names = items<Meta>(await cp.kubectl(['get', 'namespaces', '-o', 'json'])).map(
      (ns) => ns.metadata.name,
    );
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      assert.ok(names.includes(name), `namespace ${name} missing from ${names.join(', ')}`);
    }
    const version = JSON.parse(ok(await cp.kubectl(['version', '-o', 'json']))) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    const built = controlPlaneVersions().kubernetes;
    assert.equal(version.serverVersion.gitVersion, built);
    assert.equal(version.clientVersion.gitVersion, built);
  });

  it('refuses a user with no bindings (RBAC), until a RoleBinding grants a namespace', async () => {
    const alice = await cp.userKubeconfig('alice');
    const denied = await cp.kubectl(['get', 'pods', '-n', 'default'], { kubeconfig: alice });
    assert.equal(denied.code, 1, denied.command);
    assert.match(
      denied.stderr,
      /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"/,
    );

    ok(await cp.kubectl(['create', 'namespace', 'rbac']));
    ok(
      await cp.kubectl([
        'create',
        'rolebinding',
        'alice-view',
        '--clusterrole=view',
        '--user=alice',
        '-n',
        'rbac',
      ]),
    );
    // The authorizer sees the binding once its informer has it: no event reaches the client.
    await pollUntil(
      'alice to list pods in namespace rbac',
      async () =>
        (await cp.kubectl(['get', 'pods', '-n', 'rbac'], { kubeconfig: alice })).code === 0,
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const elsewhere = await cp.kubectl(['get', 'pods', '-n', 'default'], { kubeconfig: alice });
    assert.match(elsewhere.stderr, /\(Forbidden\)/, 'the binding grants namespace rbac only');
  });

  it('runs the controllers: a Deployment makes a ReplicaSet and Pods, a Service its EndpointSlice', async () => {
    ok(await cp.kubectl(['create', 'namespace', 'apps']));
    ok(await cp.kubectl(['apply', '-f', '-'], { input: deployment('apps', 'web', 2) }));
    ok(
      await cp.kubectl([
        'wait',
        'deployment/web',
        '-n',
        'apps',
        '--for=jsonpath={.status.replicas}=2',
        '--timeout=60s',
      ]),
    );
    const [rs, ...moreRs] = items<Meta>(
      await cp.kubectl(['get', 'replicasets', '-n', 'apps', '-l', 'app=web', '-o', 'json']),
    );
    assert.ok(rs, 'the deployment controller made no ReplicaSet');
    assert.equal(moreRs.length, 0);
    assert.deepEqual(
      rs.metadata.ownerReferences?.map((ref) => [ref.kind, ref.name, ref.controller]),
      [['Deployment', 'web', true]],
    );
    const pods = items<Meta & { status: { phase: string } }>(
      await cp.kubectl(['get', 'pods', '-n', 'apps', '-l', 'app=web', '-o', 'json']),
    );
    assert.equal(pods.length, 2);
    for (const pod of pods) {
      assert.deepEqual(
        pod.metadata.ownerReferences?.map((ref) => [ref.kind, ref.name]),
        [['ReplicaSet', rs.metadata.name]],
      );
      assert.equal(pod.status.phase, 'Pending', 'no kubelet runs them');
    }

    ok(await cp.kubectl(['create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', 'apps']));
    // kubectl wait --for=create takes no label selector: poll the list.
    await pollUntil(
      'the EndpointSlice of Service web',
      async () =>
        items<Meta>(
          await cp.kubectl([
            'get',
            'endpointslices',
            '-n',
            'apps',
            '-l',
            'kubernetes.io/service-name=web',
            '-o',
            'json',
          ]),
        ).length === 1,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });

  it('authenticates a ServiceAccount token from the TokenRequest API, and RBAC applies to it', async () => {
    ok(await cp.kubectl(['create', 'namespace', 'tokens']));
    // The serviceaccount controller gives every new namespace its `default`.
    ok(
      await cp.kubectl([
        'wait',
        '--for=create',
        'serviceaccount/default',
        '-n',
        'tokens',
        '--timeout=30s',
      ]),
    );
    ok(await cp.kubectl(['create', 'serviceaccount', 'robot', '-n', 'tokens']));
    const token = ok(
      await cp.kubectl(['create', 'token', 'robot', '-n', 'tokens', '--duration=10m']),
    ).trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      iss: string;
      sub: string;
    };
    assert.equal(claims.iss, SERVICE_ACCOUNT_ISSUER);
    assert.equal(claims.sub, 'system:serviceaccount:tokens:robot');

    const robot = await cp.tokenKubeconfig('robot', token, 'tokens');
    const review = JSON.parse(
      ok(await cp.kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: robot })),
    ) as { status: { userInfo: { username: string; groups: string[] } } };
    assert.equal(review.status.userInfo.username, 'system:serviceaccount:tokens:robot');
    assert.ok(review.status.userInfo.groups.includes('system:serviceaccounts:tokens'));
    const denied = await cp.kubectl(['get', 'configmaps'], { kubeconfig: robot });
    assert.match(
      denied.stderr,
      /\(Forbidden\): configmaps is forbidden: User "system:serviceaccount:tokens:robot" cannot list/,
    );
    const forged = await cp.tokenKubeconfig('forged', `${token.slice(0, -4)}AAAA`, 'tokens');
    const refused = await cp.kubectl(['get', 'configmaps'], { kubeconfig: forged });
    assert.match(refused.stderr, /\(Unauthorized\)/, 'a token with a bad signature');
  });

  it('finishes deleting a namespace with a Deployment, Pods and a Service in it', async (t) => {
    const started = Date.now();
    ok(await cp.kubectl(['delete', 'namespace', 'apps', '--timeout=90s'], { timeoutMs: 100_000 }));
    t.diagnostic(`namespace apps deleted in ${Date.now() - started} ms`);
    const gone = await cp.kubectl(['get', 'namespace', 'apps']);
    assert.match(gone.stderr, /\(NotFound\)/);
  });

  it('leaves no process, port or file behind once stopped', async () => {
    const { pids, workDir, server } = cp;
    await cp.stop();
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} still runs`);
    }
    assert.equal(existsSync(workDir), false, `${workDir} is still there`);
    const url = new URL(server);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname);
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');
  });
});
