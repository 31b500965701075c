/**
 * Issue 11's first test: two namespaces of one cluster, each a site installed from
 * deploy/kubernetes by its namespace admin (installSite: a user whose only right is `admin`
 * there); `token create` in west (advertising the link Service `skiff.west.svc`), `link
 * create` in east, `expose deployment/api` in west, and an app pod in east reaching
 * `api:8080` by name through the proxy Service, 64 MiB each way hashed at both ends. Every
 * command is the CLI on kubernetes as the namespace's admin.
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
import { controlPlaneUnavailable } from '../controlplane/controlplane.js';
import { Cleanup } from '../helpers/wait.js';
import { ECHO_IMAGE, linkWith, reachApi, skiffAs } from './site-flow.js';
import { installSite, RouterImage } from './site-install.js';

const unavailable = controlPlaneUnavailable();
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const MiB = 1024 * 1024;

describe('two namespaces, each installed by its own admin', {
  skip: unavailable ?? false,
  timeout: 600_000,
}, () => {
  const cleanup = new Cleanup();
  let cluster: Cluster;
  let dir: string;

  before(
    async () => {
      const image = await RouterImage.make();
      cleanup.add(() => image.dispose());
      dir = await mkdtemp(join(tmpdir(), 'skiff-two-namespaces-'));
      cleanup.add(atExit(() => rmSync(dir, { recursive: true, force: true })));
      cluster = await Cluster.start({ images: { ...image.images, ...ECHO_IMAGE } });
      cleanup.add(() => cluster.stop());
    },
    { timeout: 240_000 },
  );
  after(() => cleanup.run());

  it('an app pod in east reaches api:8080 in west by name, 64 MiB each way hashed at both ends', {
    timeout: 420_000,
  }, async (t) => {
    const [west, east] = await Promise.all([
      installSite(cluster, 'west', 'wendy'),
      installSite(cluster, 'east', 'ed'),
    ]);
    t.diagnostic(
      `router pods Ready: west ${Math.round(west.readyMs)} ms, east ${Math.round(east.readyMs)} ms`,
    );
    const W = { cluster, site: west };
    const E = { cluster, site: east };
    const file = join(dir, 'west.yaml');
    const made = await skiffAs(W, ['token', 'create', file]);
    assert.equal(made.code, 0, made.stderr);
    const { urls } = parse(await readFile(file, 'utf8')) as { urls: string[] };
    assert.deepEqual(
      urls.map((u) => new URL(u).host),
      ['skiff.west.svc:8443'],
      "the token advertises west's link Service",
    );
    await linkWith(t, W, E, file, 'to-west');
    await reachApi(t, W, E, 64 * MiB);
  });
});
