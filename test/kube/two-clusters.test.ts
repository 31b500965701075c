/**
 * Two separate clusters (each its own control plane, node and pod network; test/cluster),
 * linked through the link Service's load-balancer address: site west in cluster A,
 * installed with deploy/'s loadbalancer variant, whose Service the harness gives an address
 * as a cloud would (test/cluster/load-balancer.ts); site east in cluster B, installed with
 * the default. `token create` in A advertises that address, `link create` in B dials it
 * from B's router pod; `expose deployment/api` in A; an app pod in B reaches `api:8080` by
 * name, 64 MiB each way, hashed at both ends. Every command is the CLI on kubernetes, run
 * by each namespace's admin in the cluster's own network namespace.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { LinkInfo } from '../../src/admin/api.js';
import { Cluster } from '../cluster/cluster.js';
import type { Images } from '../cluster/container-spec.js';
import { type ClientOutcome, echoSessions } from '../cluster/echo-log.js';
import { atExit } from '../cluster/exit-cleanup.js';
import { LoadBalancers } from '../cluster/load-balancer.js';
import { echoDeployment } from '../cluster/manifests.js';
import { controlPlaneUnavailable } from '../controlplane/controlplane.js';
import { type CliResult, json, repoRoot, runCli } from '../helpers/cli.js';
import { INSTALLS } from '../helpers/install.js';
import { Cleanup, pollUntil } from '../helpers/wait.js';
import { manifests } from './records.js';
import { installSite, RouterImage, type SiteInstall } from './site-install.js';
import { ok } from './site-namespace.js';

const unavailable = controlPlaneUnavailable();
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const ECHO: Images = {
  'skiff-test/echo:1': {
    entrypoint: [process.execPath, join(repoRoot, 'dist', 'test', 'cluster', 'echo-main.js')],
    cmd: ['8080', '8081'],
  },
};
const CLIENT = join(repoRoot, 'dist', 'test', 'cluster', 'tcp-client-main.js');
const POLL = { timeoutMs: 90_000, intervalMs: 250 };
const LINK_PORT = 8443;
const MiB = 1024 * 1024;
const LOADBALANCER = INSTALLS.find((i) => i.name === 'loadbalancer')!.dir;

describe('two clusters linked through a load balancer', {
  skip: unavailable ?? false,
  timeout: 900_000,
}, () => {
  const cleanup = new Cleanup();
  let a: Cluster;
  let b: Cluster;
  let lbs: LoadBalancers;
  let dir: string;

  before(
    async () => {
      const image = await RouterImage.make();
      cleanup.add(() => image.dispose());
      const images = { ...image.images, ...ECHO };
      dir = await mkdtemp(join(tmpdir(), 'skiff-two-clusters-'));
      // Also at the test process's exit or death by a signal, if after() never runs.
      cleanup.add(atExit(() => rmSync(dir, { recursive: true, force: true })));
      a = await Cluster.start({ images });
      cleanup.add(() => a.stop());
      b = await Cluster.start({ images, podCidr: '10.245.0.0/16' });
      cleanup.add(() => b.stop());
      lbs = await LoadBalancers.create(a, b);
      cleanup.add(() => lbs.dispose());
    },
    { timeout: 300_000 },
  );
  after(() => cleanup.run());

  /** `skiff --platform kubernetes -n NS ARGS` as the site's admin, in its cluster's namespace. */
  function skiff(cluster: Cluster, site: SiteInstall, args: readonly string[]): Promise<CliResult> {
    return runCli(undefined, ['--platform', 'kubernetes', '-n', site.namespace, ...args], {
      env: { KUBECONFIG: site.kubeconfig },
      wrapper: cluster.wrapper,
      timeoutMs: 120_000,
    });
  }

  it('an app pod in cluster B reaches api:8080 in cluster A by name through the load balancer, 64 MiB each way hashed at both ends', {
    timeout: 600_000,
  }, async (t) => {
    const [west, east] = await Promise.all([
      installSite(a, 'west', 'wendy', LOADBALANCER),
      installSite(b, 'east', 'ed'),
    ]);
    t.diagnostic(
      `router pods Ready: west ${Math.round(west.readyMs)} ms, east ${Math.round(east.readyMs)} ms`,
    );
    const router = await west.routerPod();
    const lbIp = await lbs.serve({
      namespace: 'west',
      service: 'skiff',
      port: LINK_PORT,
      backend: { ip: router.ip, port: LINK_PORT },
    });

    const file = join(dir, 'west.yaml');
    const made = await skiff(a, west, ['token', 'create', file]);
    assert.equal(made.code, 0, made.stderr);
    const { urls } = parse(await readFile(file, 'utf8')) as { urls: string[] };
    assert.deepEqual(
      urls.map((u) => new URL(u).host),
      [`${lbIp}:${LINK_PORT}`],
      "the token advertises the load balancer's address",
    );

    const t0 = performance.now();
    const linked = await skiff(b, east, ['link', 'create', file, '--name', 'to-west']);
    assert.equal(linked.code, 0, linked.stderr);
    t.diagnostic(`link create through the load balancer: ${Math.round(performance.now() - t0)} ms`);
    const out = json<LinkInfo[]>(await skiff(b, east, ['-o', 'json', 'link', 'status']));
    assert.deepEqual(
      out.map((l) => [l.name, l.direction, l.state]),
      [['to-west', 'out', 'up']],
    );
    const incoming = await pollUntil(
      "west's status to show the link up",
      async () => {
        const links = json<LinkInfo[]>(await skiff(a, west, ['-o', 'json', 'link', 'status']));
        return links.find((l) => l.direction === 'in' && l.state === 'up');
      },
      POLL,
    );
    assert.equal(incoming.peerSiteName, 'east');
    assert.ok((await lbs.connections(lbIp)) >= 1, 'the link came in through the load balancer');

    ok(
      await west.kubectl(
        ['apply', '-f', '-'],
        manifests(echoDeployment('west', 'api', 1) as never),
      ),
    );
    ok(await west.kubectl(['rollout', 'status', 'deployment/api', '--timeout=90s']));
    const appPod = echoDeployment('', 'app', 1).spec!.template;
    ok(
      await east.kubectl(
        ['apply', '-f', '-'],
        manifests({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app' }, spec: appPod.spec! }),
      ),
    );
    ok(await east.kubectl(['wait', '--for=condition=Ready', 'pod/app', '--timeout=90s']));
    const t1 = performance.now();
    const exposed = await skiff(a, west, ['expose', 'deployment/api', '--port', '8080']);
    assert.equal(exposed.code, 0, exposed.stderr);
    await pollUntil(
      'the proxy Service api in cluster B',
      async () =>
        b.api.core.readNamespacedService({ name: 'api', namespace: 'east' }).catch(() => undefined),
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    t.diagnostic(`expose in A to the proxy Service in B: ${Math.round(performance.now() - t1)} ms`);

    const bytes = 64 * MiB;
    let streamMs = 0;
    const outcome = await pollUntil(
      'a stream through api:8080 in cluster B',
      async () => {
        const s0 = performance.now();
        const result = await b
          .pod('east', 'app')
          .exec([process.execPath, CLIENT, 'api', '8080', String(bytes), '7', '1']);
        streamMs = performance.now() - s0;
        assert.equal(result.code, 0, `the client in the app pod: ${result.stderr}`);
        const o = JSON.parse(result.stdout.trim().split('\n').pop()!) as ClientOutcome;
        return o.error === undefined && o;
      },
      POLL,
    );
    t.diagnostic(`64 MiB each way across the clusters: ${Math.round(streamMs)} ms`);
    assert.equal(outcome.sent, bytes);
    assert.equal(outcome.received, bytes);
    assert.equal(outcome.receivedSha256, outcome.sentSha256, 'the echo is byte-exact');
    assert.match(outcome.pod ?? '', /^api-/);
    await pollUntil(
      'the echo pod in cluster A to log the same hash',
      async () =>
        echoSessions(a.pod('west', outcome.pod!).logFile()).some(
          (s) => s.sha256 === outcome.sentSha256 && s.bytes === bytes,
        ),
      POLL,
    );
  });
});
