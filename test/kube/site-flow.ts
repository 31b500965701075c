/**
 * The user's story between two sites installed from deploy/kubernetes (installSite), each
 * step the CLI on kubernetes run by the namespace's admin in its cluster's network
 * namespace: a token from one, a link from the other, `expose deployment/api` at the first,
 * and an app pod at the second reaching `api:8080` by name, hashed at both ends. Used by the
 * two-namespace test (one cluster) and the two-cluster test.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { LinkInfo } from '../../src/admin/api.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Images } from '../cluster/container-spec.js';
import { type ClientOutcome, echoSessions } from '../cluster/echo-log.js';
import { echoDeployment } from '../cluster/manifests.js';
import { type CliResult, json, repoRoot, runCli } from '../helpers/cli.js';
import { pollUntil } from '../helpers/wait.js';
import { manifests } from './records.js';
import type { SiteInstall } from './site-install.js';
import { ok } from './site-namespace.js';

/** The echo workload `api` and the app pod run this image. */
export const ECHO_IMAGE: Images = {
  'skiff-test/echo:1': {
    entrypoint: [process.execPath, join(repoRoot, 'dist', 'test', 'cluster', 'echo-main.js')],
    cmd: ['8080', '8081'],
  },
};
const CLIENT = join(repoRoot, 'dist', 'test', 'cluster', 'tcp-client-main.js');
const POLL = { timeoutMs: 90_000, intervalMs: 250 };

/** A site and the cluster it runs in. */
export interface Placed {
  cluster: Cluster;
  site: SiteInstall;
}

interface Diagnostics {
  diagnostic(message: string): void;
}

/** `skiff --platform kubernetes -n NS ARGS` as the site's admin, in its cluster's namespace. */
export function skiffAs({ cluster, site }: Placed, args: readonly string[]): Promise<CliResult> {
  return runCli(undefined, ['--platform', 'kubernetes', '-n', site.namespace, ...args], {
    env: { KUBECONFIG: site.kubeconfig },
    wrapper: cluster.wrapper,
    timeoutMs: 120_000,
  });
}

/** `link create` of a token file at `to`, named `name`; resolves once it is up at both ends. */
export async function linkWith(
  t: Diagnostics,
  from: Placed,
  to: Placed,
  file: string,
  name: string,
) {
  const t0 = performance.now();
  const linked = await skiffAs(to, ['link', 'create', file, '--name', name]);
  assert.equal(linked.code, 0, linked.stderr);
  t.diagnostic(`link create: ${Math.round(performance.now() - t0)} ms`);
  const out = json<LinkInfo[]>(await skiffAs(to, ['-o', 'json', 'link', 'status']));
  assert.deepEqual(
    out.map((l) => [l.name, l.direction, l.state]),
    [[name, 'out', 'up']],
  );
  const incoming = await pollUntil(
    `${from.site.namespace}'s status to show the link up`,
    async () => {
      const links = json<LinkInfo[]>(await skiffAs(from, ['-o', 'json', 'link', 'status']));
      return links.find((l) => l.direction === 'in' && l.state === 'up');
    },
    POLL,
  );
  assert.equal(incoming.peerSiteName, to.site.namespace);
}

/**
 * Deployment `api` at `server` exposed with `expose deployment/api --port 8080`; an app pod
 * at `client` sends `bytes` to `api:8080` and reads the echo; the hashes of both ends and the
 * echo pod's own must agree.
 */
export async function reachApi(t: Diagnostics, server: Placed, client: Placed, bytes: number) {
  const serverNs = server.site.namespace;
  const clientNs = client.site.namespace;
  ok(
    await server.site.kubectl(
      ['apply', '-f', '-'],
      manifests(echoDeployment(serverNs, 'api', 1) as never),
    ),
  );
  ok(await server.site.kubectl(['rollout', 'status', 'deployment/api', '--timeout=90s']));
  const appPod = echoDeployment('', 'app', 1).spec!.template;
  ok(
    await client.site.kubectl(
      ['apply', '-f', '-'],
      manifests({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app' }, spec: appPod.spec! }),
    ),
  );
  ok(await client.site.kubectl(['wait', '--for=condition=Ready', 'pod/app', '--timeout=90s']));
  const t1 = performance.now();
  const exposed = await skiffAs(server, ['expose', 'deployment/api', '--port', '8080']);
  assert.equal(exposed.code, 0, exposed.stderr);
  await pollUntil(
    `the proxy Service api in ${clientNs}`,
    async () =>
      client.cluster.api.core
        .readNamespacedService({ name: 'api', namespace: clientNs })
        .catch(() => undefined),
    { timeoutMs: 60_000, intervalMs: 50 },
  );
  t.diagnostic(
    `expose to the proxy Service at the other site: ${Math.round(performance.now() - t1)} ms`,
  );

  let streamMs = 0;
  const outcome = await pollUntil(
    `a stream through api:8080 in ${clientNs}`,
    async () => {
      const s0 = performance.now();
      const result = await client.cluster
        .pod(clientNs, 'app')
        .exec([process.execPath, CLIENT, 'api', '8080', String(bytes), '7', '1']);
      streamMs = performance.now() - s0;
      assert.equal(result.code, 0, `the client in the app pod: ${result.stderr}`);
      const o = JSON.parse(result.stdout.trim().split('\n').pop()!) as ClientOutcome;
      return o.error === undefined && o;
    },
    POLL,
  );
  t.diagnostic(`${bytes} bytes each way through api:8080: ${Math.round(streamMs)} ms`);
  assert.equal(outcome.sent, bytes);
  assert.equal(outcome.received, bytes);
  assert.equal(outcome.receivedSha256, outcome.sentSha256, 'the echo is byte-exact');
  assert.match(outcome.pod ?? '', /^api-/);
  await pollUntil(
    `the echo pod in ${serverNs} to log the same hash`,
    async () =>
      echoSessions(server.cluster.pod(serverNs, outcome.pod!).logFile()).some(
        (s) => s.sha256 === outcome.sentSha256 && s.bytes === bytes,
      ),
    POLL,
  );
}
