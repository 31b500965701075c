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
import { Cluster } from '../cluster/cluster.js';
import { atExit } from '../cluster/exit-cleanup.js';
import { LoadBalancers } from '../cluster/load-balancer.js';
import { controlPlaneUnavailable } from '../controlplane/controlplane.js';
import { INSTALLS } from '../helpers/install.js';
import { Cleanup } from '../helpers/wait.js';
import { ECHO_IMAGE, linkWith, reachApi, skiffAs } from './site-flow.js';
import { installSite, RouterImage } from './site-install.js';

const unavailable = controlPlaneUnavailable();
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

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
      const images = { ...image.images, ...ECHO_IMAGE };
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

    const A = { cluster: a, site: west };
    const B = { cluster: b, site: east };
    const file = join(dir, 'west.yaml');
    const made = await skiffAs(A, ['token', 'create', file]);
    assert.equal(made.code, 0, made.stderr);
    const { urls } = parse(await readFile(file, 'utf8')) as { urls: string[] };
    assert.deepEqual(
      urls.map((u) => new URL(u).host),
      [`${lbIp}:${LINK_PORT}`],
      "the token advertises the load balancer's address",
    );

    await linkWith(t, A, B, file, 'to-west');
    assert.ok((await lbs.connections(lbIp)) >= 1, 'the link came in through the load balancer');
    await reachApi(t, A, B, 64 * MiB);
  });
});
