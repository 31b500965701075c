/**
 * The router as a real pod: deploy/kubernetes applied by namespace admins to two
 * namespaces of the test cluster (the real control plane, the test playing kubelet,
 * kube-proxy and DNS), its Deployment run by the test kubelet with this checkout's
 * bin/skiff.js as the image. Each site is created by its router's first start, in its own
 * namespace; metrics are scraped at the pod IP from the cluster's network; a killed router
 * process is restarted in the same pod and reopens the same site; records applied with
 * kubectl take effect without a restart and a malformed one is reported, not fatal;
 * `kubectl delete -k` leaves no skiff object behind.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { V1ContainerPort } from '@kubernetes/client-node';
import type { SiteStatus } from '../../src/admin/api.js';
import { STATUS_CONFIGMAP, STATUS_KEY, type StatusDocument } from '../../src/kube/status-doc.js';
import { Cluster } from '../cluster/cluster.js';
import { controlPlaneUnavailable } from '../controlplane/controlplane.js';
import { pollUntil } from '../helpers/wait.js';
import { manifests, recordManifest } from './records.js';
import {
  installSite,
  ROUTER_DEPLOYMENT,
  RouterImage,
  type SiteInstall,
  uninstall,
} from './site-install.js';
import { ok } from './site-namespace.js';

const unavailable = controlPlaneUnavailable();
// CI always runs these: there a missing build is a failure, not a skip.
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const run = promisify(execFile);
const T = { timeout: 180_000 };
/** What an install makes (by deploy/'s label), and what the router makes (by skiff's). */
const INSTALL_KINDS =
  'serviceaccounts,roles,rolebindings,deployments,replicasets,pods,services,endpointslices';
const STATE_LABEL = 'app.kubernetes.io/managed-by=skiff';

describe('the router as a pod of deploy/kubernetes, in two namespaces of one cluster', {
  skip: unavailable ?? false,
  timeout: 900_000,
}, () => {
  let image: RouterImage;
  let cluster: Cluster;
  const sites: SiteInstall[] = [];

  before(
    async () => {
      image = await RouterImage.make();
      cluster = await Cluster.start({ images: image.images });
    },
    { timeout: 180_000 },
  );
  after(async () => {
    await cluster?.stop();
    image?.dispose();
  });

  /** The first test's installs, on which the others build. */
  function installed(): [SiteInstall, SiteInstall] {
    assert.equal(sites.length, 2, 'the installs of the first test');
    return sites as [SiteInstall, SiteInstall];
  }

  async function statusDoc(site: SiteInstall): Promise<StatusDocument | undefined> {
    const cm = await cluster.api.core
      .readNamespacedConfigMap({ name: STATUS_CONFIGMAP, namespace: site.namespace })
      .catch(() => undefined);
    const text = cm?.data?.[STATUS_KEY];
    return text === undefined ? undefined : (JSON.parse(text) as StatusDocument);
  }

  /** `skiff status -o json` run in the router pod's container, as `kubectl exec` would. */
  async function podStatus(site: SiteInstall): Promise<SiteStatus> {
    const pod = await site.routerPod();
    const result = await pod.runner.exec(['skiff', 'status', '-o', 'json']);
    assert.equal(result.code, 0, `skiff status in ${pod.name}: ${result.stderr}`);
    return JSON.parse(result.stdout) as SiteStatus;
  }

  /** A GET from the cluster's network namespace (where the kubelet's prober runs). */
  async function scrape(url: string): Promise<{ code: number; body: string }> {
    const [command, ...args] = [...cluster.wrapper, 'curl', '-sS', '--max-time', '10'];
    const { stdout } = await run(command!, [...args, '-w', '\n%{http_code}', url], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const at = stdout.lastIndexOf('\n');
    return { code: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
  }

  async function names(namespace: string, kinds: string, selector: string): Promise<string[]> {
    const out = ok(
      await cluster.kubectl(['get', kinds, '-n', namespace, '-l', selector, '-o', 'name']),
    );
    return out.split('\n').filter(Boolean);
  }

  it(
    'two namespace admins install deploy/kubernetes, each in their own namespace: both router pods are Ready and each first start made its own site there',
    T,
    async (t) => {
      for (const [namespace, user] of [
        ['team-a', 'alice'],
        ['team-b', 'bob'],
      ] as const) {
        const site = await installSite(cluster, namespace, user);
        sites.push(site);
        t.diagnostic(
          `${namespace}: kubectl apply -k to the router pod Ready: ${Math.round(site.readyMs)} ms`,
        );
      }
      const ids = new Set<string>();
      for (const site of sites) {
        const pod = await site.routerPod();
        const uid = await pod.runner.exec(['id', '-u']);
        assert.equal(uid.stdout.trim(), '65532', 'the router runs as the securityContext user');
        const record = await cluster.api.core.readNamespacedConfigMap({
          name: 'skiff-site',
          namespace: site.namespace,
        });
        assert.equal(record.metadata?.labels?.['app.kubernetes.io/managed-by'], 'skiff');
        const doc = await pollUntil(`skiff-status in ${site.namespace}`, () => statusDoc(site), {
          timeoutMs: 20_000,
          intervalMs: 200,
        });
        assert.equal(doc.site.name, site.namespace, 'the site is named after its namespace');
        assert.equal(doc.site.platform, 'kubernetes');
        assert.equal(doc.router.state, 'running');
        assert.equal((await podStatus(site)).site.id, doc.site.id);
        ids.add(doc.site.id);
      }
      assert.equal(ids.size, 2, 'two sites, one per namespace');
      const [a] = sites;
      const crossed = await cluster.kubectl(['get', 'configmaps', '-n', 'team-b'], {
        kubeconfig: a!.kubeconfig,
      });
      assert.notEqual(crossed.code, 0, "alice cannot read team-b's site");
    },
  );

  it(
    'the Deployment declares the metrics port; a scrape of each router pod at its IP returns series labelled with its site',
    T,
    async () => {
      for (const site of installed()) {
        const pod = await site.routerPod();
        const spec = await cluster.api.core.readNamespacedPod({
          name: pod.name,
          namespace: site.namespace,
        });
        const ports = spec.spec?.containers[0]?.ports ?? [];
        const metrics = ports.find((p: V1ContainerPort) => p.name === 'metrics');
        assert.ok(metrics, `no metrics port in ${JSON.stringify(ports)}`);
        const annotations = spec.metadata?.annotations ?? {};
        assert.equal(annotations['prometheus.io/scrape'], 'true');
        assert.equal(annotations['prometheus.io/port'], String(metrics.containerPort));
        const url = `http://${pod.ip}:${metrics.containerPort}${annotations['prometheus.io/path']}`;
        const { code, body } = await scrape(url);
        assert.equal(code, 200, `${url}: ${body.slice(0, 200)}`);
        const series = body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
        assert.ok(series.length > 20, `${series.length} series`);
        const label = `site="${site.namespace}"`;
        for (const line of series) assert.ok(line.includes(label), `${line} lacks ${label}`);
        assert.ok(
          series.some((l) => l.startsWith('skiff_build_info{')),
          'skiff_build_info',
        );
        assert.ok(
          series.some((l) => l.startsWith('process_cpu_seconds_total{')),
          'process',
        );
        // The health port shows nothing of that.
        const health = ports.find((p) => p.name === 'health')!;
        assert.equal((await scrape(`http://${pod.ip}:${health.containerPort}/metrics`)).code, 404);
      }
    },
  );

  it(
    'a connector ConfigMap written by hand and kubectl-applied (as GitOps would) takes effect without a restart; a malformed one is reported, not fatal',
    T,
    async (t) => {
      const [site] = installed();
      const before = await site.routerPod();
      const started = performance.now();
      ok(
        await site.kubectl(
          ['apply', '-f', '-'],
          manifests(
            recordManifest('connector', 'api', { address: 'api', host: '127.0.0.1', port: 7001 }),
          ),
        ),
      );
      const doc = await pollUntil(
        'skiff-status to show connector api',
        async () => {
          const d = await statusDoc(site);
          return d?.connectors.items.some((c) => c.address === 'api' && c.port === 7001) && d;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      t.diagnostic(
        `kubectl apply to skiff-status showing the connector: ${Math.round(performance.now() - started)} ms`,
      );
      assert.equal(doc.problems.total, 0);
      const inPod = await podStatus(site);
      assert.deepEqual(
        inPod.connectors.map((c) => [c.address, c.port]),
        [['api', 7001]],
      );

      ok(
        await site.kubectl(
          ['apply', '-f', '-'],
          manifests(
            recordManifest('connector', 'broken', 'address: [unclosed'),
            recordManifest('connector', 'api', { address: 'api', host: '127.0.0.1', port: 'x' }),
          ),
        ),
      );
      const where = (name: string) => `configmaps "${name}" in namespace ${site.namespace}`;
      const reported = await pollUntil(
        'skiff-status to report the malformed records',
        async () => {
          const d = await statusDoc(site);
          return d?.problems.total === 2 && d;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      assert.deepEqual(reported.problems.items.map((p) => p.where).sort(), [
        where('skiff-connector-api'),
        where('skiff-connector-broken'),
      ]);
      assert.deepEqual(
        reported.connectors.items.map((c) => [c.address, c.port]),
        [['api', 7001]],
        'the last good connector still runs',
      );
      const after = await site.routerPod();
      assert.equal(after.uid, before.uid);
      assert.equal(after.restartCount, before.restartCount, 'no restart');
      assert.equal(reported.router.pid, doc.router.pid, 'the same router process');
      assert.equal((await podStatus(site)).problems.length, 2);

      // Fixed, the problems go.
      ok(
        await site.kubectl(
          ['apply', '-f', '-'],
          manifests(
            recordManifest('connector', 'api', { address: 'api', host: '127.0.0.1', port: 7002 }),
          ),
        ),
      );
      ok(await site.kubectl(['delete', 'configmap', 'skiff-connector-broken']));
      await pollUntil(
        'the fix to take effect',
        async () => {
          const d = await statusDoc(site);
          return d?.problems.total === 0 && d.connectors.items.some((c) => c.port === 7002);
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    },
  );

  it(
    "killing the router's process: the kubelet restarts it in the same pod, Ready again, with the same site and its records",
    T,
    async (t) => {
      const [site] = installed();
      const before = await site.routerPod();
      const doc = (await statusDoc(site))!;
      const killed = performance.now();
      before.runner.container().crash();
      const after = await pollUntil(
        'the router container restarted and Ready',
        async () => {
          const pod = await site.routerPod();
          return pod.restartCount > before.restartCount && pod;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      t.diagnostic(
        `SIGKILL to the router pod Ready again: ${Math.round(performance.now() - killed)} ms`,
      );
      assert.equal(after.uid, before.uid, 'the same pod');
      assert.equal(after.ip, before.ip);
      const reopened = await pollUntil(
        'skiff-status from the new process',
        async () => {
          const d = await statusDoc(site);
          return d?.router.pid !== doc.router.pid && d?.router.state === 'running' && d;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      assert.equal(reopened.site.id, doc.site.id, 'the same site');
      const inPod = await podStatus(site);
      assert.equal(inPod.site.id, doc.site.id);
      assert.deepEqual(
        inPod.connectors.map((c) => [c.address, c.port]),
        [['api', 7002]],
        'the kubectl-applied connector is read again from the namespace',
      );
    },
  );

  it(
    'the console: `skiff console --port 8090` in the pod (as kubectl exec runs it) serves at 127.0.0.1:8090 inside the pod, where kubectl port-forward connects; 401 without its token; not on the pod address',
    T,
    async () => {
      const [site] = installed();
      const pod = await site.routerPod();
      const started = await pod.runner.exec(['skiff', 'console', '--port', '8090', '-o', 'json']);
      assert.equal(started.code, 0, `skiff console in ${pod.name}: ${started.stderr}`);
      const info = JSON.parse(started.stdout) as { host: string; port: number; url: string };
      assert.deepEqual([info.host, info.port], ['127.0.0.1', 8090]);
      const inPod = async (url: string, ...headers: string[]) => {
        const args = headers.flatMap((h) => ['-H', h]);
        const r = await pod.runner.exec([
          'curl',
          '-sS',
          '--max-time',
          '10',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          ...args,
          url,
        ]);
        return r.stdout;
      };
      // The URL's token is taken once and traded for a cookie (decision 0025); a header works too.
      assert.equal(await inPod(info.url), '303', info.url);
      const token = new URL(info.url).searchParams.get('token');
      assert.equal(await inPod('http://127.0.0.1:8090/', `Authorization: Bearer ${token}`), '200');
      assert.equal(await inPod('http://127.0.0.1:8090/'), '401');
      await assert.rejects(scrape(`http://${pod.ip}:8090/`), "bound to the pod's loopback only");
    },
  );

  it(
    'kubectl delete -k removes the install and the site with it: no skiff object is left; the other namespace runs on',
    T,
    async (t) => {
      const [site, other] = installed();
      const { namespace } = site;
      // Everything skiff wrote here hangs off the install (decision 0026): the site record is
      // the install's, the rest the site record's, hand-applied records included.
      const state = `${INSTALL_KINDS},configmaps,secrets`;
      const written = await names(namespace, state, STATE_LABEL);
      const unowned = JSON.parse(
        ok(
          await site.kubectl([
            'get',
            'configmaps,secrets,services',
            '-l',
            STATE_LABEL,
            '-o',
            'json',
          ]),
        ),
      ).items.filter(
        (o: { metadata: { ownerReferences?: unknown[] } }) =>
          (o.metadata.ownerReferences ?? []).length === 0,
      );
      assert.deepEqual(unowned, [], 'every skiff object has an owner');
      t.diagnostic(`skiff objects before delete -k: ${written.length} (${written.join(', ')})`);
      const t0 = performance.now();
      await uninstall(site);
      await pollUntil(
        'no skiff object left',
        async () =>
          (await names(namespace, state, STATE_LABEL)).length +
            (await names(namespace, `${INSTALL_KINDS},configmaps`, 'app.kubernetes.io/name=skiff'))
              .length ===
          0,
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      t.diagnostic(`all gone ${Math.round(performance.now() - t0)} ms after delete -k`);
      assert.equal(
        cluster.kubelet.pods.some((p) => p.namespace === namespace),
        false,
        'the router process is gone from the node',
      );
      const remaining = ok(
        await cluster.kubectl(['get', 'configmaps,secrets', '-n', namespace, '-o', 'name']),
      );
      assert.deepEqual(remaining.trim().split('\n').sort(), ['configmap/kube-root-ca.crt']);
      const still = await other.routerPod();
      assert.equal(still.restartCount, 0, `${other.namespace} untouched`);
      assert.equal((await statusDoc(other))?.router.state, 'running');
      ok(await cluster.kubectl(['get', `deployment/${ROUTER_DEPLOYMENT}`, '-n', other.namespace]));
    },
  );
});
