/**
 * deploy/kubernetes against a real control plane (etcd, kube-apiserver with RBAC,
 * kube-controller-manager): every manifest passes server-side dry-run; a user whose only
 * right is the built-in `admin` ClusterRole in one namespace installs it there with the
 * documented command and nowhere else, and nothing in it is cluster-scoped; the router's
 * ServiceAccount token can make every request the Role grants and no other, the API
 * server naming the account, verb and resource when it refuses; with any one rule
 * removed exactly that rule's requests are refused, and skiff's error names the Role and
 * the rule to add.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { isSkiffError } from '../../src/errors.js';
import { apiFailure, ROUTER_ROLE, ROUTER_SERVICE_ACCOUNT } from '../../src/kube/errors.js';
import { KubeStore } from '../../src/state/kube-store.js';
import { ControlPlane, controlPlaneUnavailable } from '../controlplane/controlplane.js';
import type { KubectlResult } from '../controlplane/kubectl.js';
import {
  documentedInstall,
  type Grant,
  grantsOf,
  INSTALLS,
  KUBE_DIR,
  type KubeObject,
  type PolicyRule,
  type RoleObject,
  routerRole,
  yamlObjects,
} from '../helpers/install.js';
import { pollUntil, withTimeout } from '../helpers/wait.js';
import { forbiddenText, requestFor, VERB_ORDER, writable } from './grants.js';

const unavailable = controlPlaneUnavailable();
// CI always runs these: there a missing build is a failure, not a skip.
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const NS = 'team-a';
const OTHER_NS = 'team-b';
const ROUTER_USER = `system:serviceaccount:${NS}:${ROUTER_SERVICE_ACCOUNT}`;
/** RBAC changes reach the authorizer through its informers: soon, but not at once. */
const RBAC_SETTLES = { timeoutMs: 20_000, intervalMs: 100 };

function ok(result: KubectlResult): string {
  assert.equal(result.code, 0, `${result.command} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

function refused(result: KubectlResult, text: string): void {
  assert.notEqual(result.code, 0, `${result.command} was allowed: ${result.stdout.slice(0, 200)}`);
  assert.match(result.stderr, /Error from server \(Forbidden\)/, result.command);
  assert.ok(
    result.stderr.includes(text),
    `${result.command}: stderr does not say ${text}:\n${result.stderr}`,
  );
}

/** The role's rules, one grant per (group, resource, verb), writes in VERB_ORDER. */
function ordered(rule: PolicyRule): Grant[] {
  const rank = (verb: string) => VERB_ORDER.indexOf(verb as (typeof VERB_ORDER)[number]);
  return grantsOf(rule).sort((a, b) => rank(a.verb) - rank(b.verb));
}

/** `resource` or `resource.group`, as kubectl and skiff's messages write it. */
function qualified(of: { name?: string; resource?: string; group: string }): string {
  const resource = of.resource ?? of.name ?? '';
  return of.group === '' ? resource : `${resource}.${of.group}`;
}

/** One resource of a discovery document (/api/v1, /apis/GROUP/VERSION). */
interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

describe('deploy/kubernetes on a real control plane', {
  skip: unavailable ?? false,
  timeout: 600_000,
}, () => {
  let cp: ControlPlane;
  let alice: string;
  /** The router's token (TokenRequest, made by alice), as a kubeconfig. */
  let router: string | undefined;
  let installed: Promise<KubectlResult> | undefined;
  /** Objects the router only reads, by resource: the requests for get address them. */
  const fixtures: Record<string, string> = {};

  before(
    async () => {
      cp = await ControlPlane.start();
      for (const ns of [NS, OTHER_NS]) ok(await cp.kubectl(['create', 'namespace', ns]));
      ok(
        await cp.kubectl([
          'create',
          'rolebinding',
          'alice-admin',
          '--clusterrole=admin',
          '--user=alice',
          '-n',
          NS,
        ]),
      );
      alice = await cp.userKubeconfig('alice');
      await pollUntil(
        'alice to be admin of team-a',
        async () =>
          (await cp.kubectl(['get', 'roles', '-n', NS], { kubeconfig: alice })).code === 0,
        RBAC_SETTLES,
      );
    },
    { timeout: 180_000 },
  );
  after(() => cp?.stop());

  const asAlice = (args: string[], input?: string) =>
    cp.kubectl(args, { kubeconfig: alice, ...(input === undefined ? {} : { input }) });

  /** Runs the documented install as alice, once; later tests build on it. */
  function install(): Promise<KubectlResult> {
    installed ??= asAlice(documentedInstall(NS));
    return installed;
  }

  async function routerKubeconfig(): Promise<string> {
    ok(await install());
    if (router === undefined) {
      const token = ok(await asAlice(['create', 'token', ROUTER_SERVICE_ACCOUNT, '-n', NS])).trim();
      router = await cp.tokenKubeconfig('skiff-router', token, NS);
    }
    return router;
  }

  const asRouter = async (args: string[], input?: string) =>
    cp.kubectl(args, {
      kubeconfig: await routerKubeconfig(),
      ...(input === undefined ? {} : { input }),
    });

  /** Applies `rules` as Role skiff-router in team-a (as alice) and waits until `settled`. */
  async function applyRole(rules: PolicyRule[], settled: () => Promise<boolean>): Promise<void> {
    const role: RoleObject = { ...routerRole(), rules };
    ok(await asAlice(['apply', '-n', NS, '-f', '-'], JSON.stringify(role)));
    await pollUntil('the authorizer to see the Role change', settled, RBAC_SETTLES);
  }

  const discovered = new Map<string, ApiResource[]>();

  /** What the server serves `object` as: its resource (plural), group and scope. */
  async function resourceFor(object: KubeObject): Promise<ApiResource & { group: string }> {
    const grouped = object.apiVersion.includes('/');
    const path = grouped ? `/apis/${object.apiVersion}` : '/api/v1';
    let resources = discovered.get(path);
    if (resources === undefined) {
      resources = (
        JSON.parse(ok(await cp.kubectl(['get', '--raw', path]))) as {
          resources: ApiResource[];
        }
      ).resources;
      discovered.set(path, resources);
    }
    const found = resources.find((r) => r.kind === object.kind && !r.name.includes('/'));
    assert.ok(found, `${object.apiVersion} ${object.kind} is not served`);
    return { ...found, group: grouped ? object.apiVersion.split('/')[0]! : '' };
  }

  async function rendered(dir: string): Promise<KubeObject[]> {
    return yamlObjects(ok(await cp.kubectl(['kustomize', dir])));
  }

  /**
   * `kubectl apply --dry-run=server -n namespace -k` of each install as `kubeconfig`
   * (default the cluster admin): each object's line of kubectl's output, by kind and name.
   */
  async function dryRun(
    namespace: string,
    kubeconfig?: string,
  ): Promise<{ name: string; objects: KubeObject[]; lines: string[]; result: KubectlResult }[]> {
    const runs = [];
    for (const { name, dir } of INSTALLS) {
      const result = await cp.kubectl(['apply', '--dry-run=server', '-n', namespace, '-k', dir], {
        ...(kubeconfig === undefined ? {} : { kubeconfig }),
      });
      const lines = result.stdout.trim().split('\n').filter(Boolean);
      runs.push({ name, objects: await rendered(dir), lines, result });
    }
    return runs;
  }

  /** What nobody but skiff's install makes in `namespace`, by the install's label. */
  async function installObjects(namespace: string): Promise<string[]> {
    const out = ok(
      await cp.kubectl([
        'get',
        'configmaps,serviceaccounts,roles,rolebindings,deployments,replicasets,pods,services,endpointslices,ingresses',
        '-n',
        namespace,
        '-l',
        'app.kubernetes.io/name=skiff',
        '-o',
        'name',
      ]),
    );
    return out.split('\n').filter(Boolean);
  }

  test("a cluster admin's kubectl apply --dry-run=server accepts every manifest, base and variants, in a fresh namespace", async (t) => {
    ok(await cp.kubectl(['create', 'namespace', 'fresh']));
    for (const { name, objects, lines, result } of await dryRun('fresh')) {
      ok(result);
      assert.equal(lines.length, objects.length, `${name}: ${result.stdout}`);
      for (const line of lines) assert.match(line, / created \(server dry run\)$/, name);
      t.diagnostic(`${name}: ${objects.map((o) => o.kind).join(', ')}`);
    }
    assert.deepEqual(await installObjects('fresh'), [], 'a dry run creates nothing');
  });

  test("before the first install a namespace admin's dry run refuses only the RoleBinding: its Role is not there yet", async () => {
    // Binding a Role needs every right it grants (RBAC escalation check, which a namespace
    // admin without `bind` is subject to): the server reads the Role, which a dry run did
    // not create. The real install applies the Role first (kustomize orders it so).
    for (const { name, objects, lines, result } of await dryRun(NS, alice)) {
      assert.notEqual(result.code, 0, `${name}: ${result.stdout}`);
      assert.equal(
        result.stderr.trim().split('\n')[0],
        `Error from server (NotFound): error when creating "${INSTALLS.find((i) => i.name === name)!.dir}": rolebindings.rbac.authorization.k8s.io "${ROUTER_ROLE}" not found`,
        name,
      );
      assert.equal(lines.length, objects.length - 1, `${name}: ${result.stdout}`);
      for (const line of lines) assert.match(line, / created \(server dry run\)$/, name);
      assert.ok(!lines.some((l) => l.startsWith('rolebinding')), name);
    }
    assert.deepEqual(await installObjects(NS), [], 'a dry run creates nothing');
  });

  test('nothing in any variant is cluster-scoped or names a namespace', async () => {
    for (const { name, dir } of INSTALLS) {
      for (const object of await rendered(dir)) {
        const what = `${name}: ${object.kind} ${object.metadata.name}`;
        assert.equal(object.metadata.namespace, undefined, `${what} names a namespace`);
        assert.equal((await resourceFor(object)).namespaced, true, `${what} is cluster-scoped`);
      }
    }
  });

  test('alice, admin of team-a only, installs with the documented command; every object is there', async () => {
    const result = await install();
    const objects = await rendered(KUBE_DIR);
    assert.deepEqual(objects.map((o) => o.kind).sort(), [
      'ConfigMap',
      'Deployment',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
    ]);
    const lines = ok(result).trim().split('\n');
    assert.equal(lines.length, objects.length, result.stdout);
    for (const line of lines) assert.match(line, / created$/);
    const names: string[] = [];
    for (const o of objects) names.push(`${qualified(await resourceFor(o))}/${o.metadata.name}`);
    const got = JSON.parse(ok(await cp.kubectl(['get', ...names, '-n', NS, '-o', 'json']))) as {
      items: KubeObject[];
    };
    assert.deepEqual(
      got.items.map((o) => [o.kind, o.metadata.name, o.metadata.namespace]),
      objects.map((o) => [o.kind, o.metadata.name, NS]),
    );
    // The controllers take it from there: a ReplicaSet and the router's pod, admitted with
    // the ServiceAccount's projected token (no kubelet runs here, so it stays Pending).
    const pod = await pollUntil('the router pod', async () => {
      const list = JSON.parse(
        ok(
          await cp.kubectl([
            'get',
            'pods',
            '-n',
            NS,
            '-l',
            'app.kubernetes.io/name=skiff,app.kubernetes.io/component=router',
            '-o',
            'json',
          ]),
        ),
      ) as {
        items: (KubeObject & {
          spec: { serviceAccountName: string; volumes: { name: string; projected?: object }[] };
        })[];
      };
      return list.items[0];
    });
    assert.equal(pod.spec.serviceAccountName, ROUTER_SERVICE_ACCOUNT);
    assert.ok(
      pod.spec.volumes.some((v) => v.name.startsWith('kube-api-access-') && v.projected),
      'the token volume',
    );
    fixtures.pods = pod.metadata.name;
  });

  test("once installed, a namespace admin's kubectl apply --dry-run=server accepts every manifest, base and variants", async (t) => {
    ok(await install());
    for (const { name, objects, lines, result } of await dryRun(NS, alice)) {
      ok(result);
      assert.equal(lines.length, objects.length, `${name}: ${result.stdout}`);
      for (const line of lines) {
        assert.match(line, / (unchanged|configured|created) \(server dry run\)$/, name);
      }
      t.diagnostic(`${name}: ${lines.join('; ')}`);
    }
  });

  test('alice cannot install into team-b: every object is forbidden and nothing is made', async () => {
    const result = await asAlice(documentedInstall(OTHER_NS));
    assert.notEqual(result.code, 0);
    for (const object of await rendered(KUBE_DIR)) {
      const { name: resource, group } = await resourceFor(object);
      assert.ok(
        result.stderr.includes(forbiddenText('alice', { verb: 'get', resource, group }, OTHER_NS)),
        `${object.kind}: ${result.stderr}`,
      );
    }
    assert.deepEqual(await installObjects(OTHER_NS), []);
  });

  test("the router's token can make every request its Role grants", async (t) => {
    await routerKubeconfig();
    // What the router only reads must exist for get: its own Deployment and pod, and a
    // StatefulSet and an EndpointSlice made here.
    fixtures.deployments = 'skiff-router';
    fixtures.statefulsets = 'probe';
    fixtures.endpointslices = 'probe';
    ok(
      await cp.kubectl(['apply', '-n', NS, '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: [
            {
              apiVersion: 'apps/v1',
              kind: 'StatefulSet',
              metadata: { name: 'probe' },
              spec: {
                serviceName: 'probe',
                replicas: 0,
                selector: { matchLabels: { app: 'probe' } },
                template: {
                  metadata: { labels: { app: 'probe' } },
                  spec: { containers: [{ name: 'probe', image: 'registry.invalid/probe:1' }] },
                },
              },
            },
            {
              apiVersion: 'discovery.k8s.io/v1',
              kind: 'EndpointSlice',
              metadata: { name: 'probe' },
              addressType: 'IPv4',
              endpoints: [],
            },
          ],
        }),
      }),
    );
    let count = 0;
    for (const rule of routerRole().rules) {
      for (const grant of ordered(rule)) {
        const name = writable(grant.resource)
          ? `probe-${grant.resource}`
          : fixtures[grant.resource];
        assert.ok(name, `no object of ${grant.resource} to address`);
        const request = requestFor(grant, NS, name);
        ok(await asRouter(request.args, request.input));
        count++;
      }
    }
    t.diagnostic(`${count} requests, each allowed`);
  });

  test('outside its Role the token is forbidden, and the server names the account, verb and resource', async () => {
    const pod = fixtures.pods ?? 'skiff-router';
    const cases: { args: string[]; input?: string; grant: Grant; namespace?: string }[] = [
      {
        args: [
          'create',
          '--raw',
          `/api/v1/namespaces/${NS}/pods/${pod}/exec?command=ls&stdout=true`,
          '-f',
          '-',
        ],
        input: '{}',
        grant: { verb: 'create', resource: 'pods/exec', group: '' },
        namespace: NS,
      },
      {
        args: ['get', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}/portforward?ports=8443`],
        grant: { verb: 'get', resource: 'pods/portforward', group: '' },
        namespace: NS,
      },
      {
        args: ['get', '--raw', `/api/v1/namespaces/${OTHER_NS}/secrets`],
        grant: { verb: 'list', resource: 'secrets', group: '' },
        namespace: OTHER_NS,
      },
      {
        args: ['get', '--raw', '/api/v1/nodes'],
        grant: { verb: 'list', resource: 'nodes', group: '' },
      },
      {
        args: ['get', '--raw', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions'],
        grant: {
          verb: 'list',
          resource: 'customresourcedefinitions',
          group: 'apiextensions.k8s.io',
        },
      },
      {
        args: [
          'create',
          '--raw',
          `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`,
          '-f',
          '-',
        ],
        input: JSON.stringify({ ...routerRole(), metadata: { name: 'wider' } }),
        grant: { verb: 'create', resource: 'roles', group: 'rbac.authorization.k8s.io' },
        namespace: NS,
      },
      {
        args: [
          'patch',
          'configmap',
          'kube-root-ca.crt',
          '-n',
          NS,
          '--type',
          'merge',
          '-p',
          '{"data":{}}',
        ],
        grant: { verb: 'patch', resource: 'configmaps', group: '' },
        namespace: NS,
      },
      {
        args: ['delete', '--raw', `/api/v1/namespaces/${NS}/pods/${pod}`],
        grant: { verb: 'delete', resource: 'pods', group: '' },
        namespace: NS,
      },
      {
        args: ['delete', '--raw', `/apis/apps/v1/namespaces/${NS}/deployments/skiff-router`],
        grant: { verb: 'delete', resource: 'deployments', group: 'apps' },
        namespace: NS,
      },
      {
        args: ['create', '--raw', `/api/v1/namespaces/${NS}/events`, '-f', '-'],
        input: JSON.stringify({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'x' } }),
        grant: { verb: 'create', resource: 'events', group: '' },
        namespace: NS,
      },
    ];
    for (const c of cases) {
      refused(await asRouter(c.args, c.input), forbiddenText(ROUTER_USER, c.grant, c.namespace));
    }
  });

  test('without the Role the server itself names it as missing', async () => {
    const router = await routerKubeconfig();
    const list = () =>
      cp.kubectl(['get', '--raw', `/api/v1/namespaces/${NS}/configmaps`], { kubeconfig: router });
    ok(await asAlice(['delete', 'role', ROUTER_ROLE, '-n', NS]));
    try {
      const result = await pollUntil(
        'the Role to be gone',
        async () => {
          const r = await list();
          return r.code !== 0 ? r : undefined;
        },
        RBAC_SETTLES,
      );
      refused(
        result,
        forbiddenText(ROUTER_USER, { verb: 'list', resource: 'configmaps', group: '' }, NS),
      );
      assert.match(
        result.stderr,
        new RegExp(`role\\.rbac\\.authorization\\.k8s\\.io "${ROUTER_ROLE}" not found`),
      );
    } finally {
      await applyRole(routerRole().rules, async () => (await list()).code === 0);
    }
  });

  test('with one rule removed, in turn, exactly its requests are forbidden and skiff names the Role and the rule to add', async (t) => {
    const kc = new KubeConfig();
    kc.loadFromFile(await routerKubeconfig());
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const namespace = NS;
    /** A list through @kubernetes/client-node, as the router's own code makes one. */
    const listCalls: Record<string, () => Promise<unknown>> = {
      configmaps: () => core.listNamespacedConfigMap({ namespace }),
      secrets: () => core.listNamespacedSecret({ namespace }),
      services: () => core.listNamespacedService({ namespace }),
      pods: () => core.listNamespacedPod({ namespace }),
      deployments: () => apps.listNamespacedDeployment({ namespace }),
      statefulsets: () => apps.listNamespacedStatefulSet({ namespace }),
      endpointslices: () => discovery.listNamespacedEndpointSlice({ namespace }),
    };
    const full = routerRole().rules;
    const listOf = (rule: PolicyRule) =>
      requestFor(ordered(rule).find((g) => g.verb === 'list')!, NS, 'x');
    for (const [index, removed] of full.entries()) {
      const rest = full.filter((_, i) => i !== index);
      const probe = listOf(removed);
      await applyRole(rest, async () => (await asRouter(probe.args)).code !== 0);
      try {
        for (const grant of ordered(removed)) {
          const request = requestFor(grant, NS, `probe-${grant.resource}`);
          refused(
            await asRouter(request.args, request.input),
            forbiddenText(ROUTER_USER, grant, NS),
          );
        }
        for (const other of rest) ok(await asRouter(listOf(other).args));

        for (const resource of removed.resources) {
          const call = listCalls[resource];
          assert.ok(call, `no client-node list for ${resource}: add it to listCalls`);
          const err = await call().then(
            () => assert.fail(`listing ${resource} was allowed`),
            (e: unknown) => e,
          );
          const group = removed.apiGroups[0]!;
          const failure = apiFailure(err, 'list', qualified({ resource, group }), NS);
          assert.ok(isSkiffError(failure, 'SKIFF_ERR_FORBIDDEN'), failure.message);
          for (const text of [
            forbiddenText(ROUTER_USER, { verb: 'list', resource, group }, NS),
            `add {apiGroups: ["${group}"], resources: [${resource}], verbs: [list]} to Role ${ROUTER_ROLE} in namespace ${NS}`,
          ]) {
            assert.ok(failure.message.includes(text), `${failure.message}\nlacks: ${text}`);
          }
        }
        if (removed.resources.includes('configmaps')) await storeRefused(kc, 'configmaps');
        if (removed.resources.includes('secrets')) await storeRefused(kc, 'secrets');
        t.diagnostic(
          `without ${qualified({ resource: removed.resources.join(','), group: removed.apiGroups[0]! })}: ${ordered(removed).length} requests forbidden`,
        );
      } finally {
        await applyRole(full, async () => (await asRouter(probe.args)).code === 0);
      }
    }
  });

  /** KubeStore (the router's state) and a watch (its informers) refused, as a person reads it. */
  async function storeRefused(kc: KubeConfig, resource: 'configmaps' | 'secrets'): Promise<void> {
    const store = new KubeStore(kc.makeApiClient(CoreV1Api), NS);
    const hint = (verb: string) =>
      `add {apiGroups: [""], resources: [${resource}], verbs: [${verb}]} to Role ${ROUTER_ROLE} in namespace ${NS} (deploy/kubernetes/base/role.yaml)`;
    if (resource === 'configmaps') {
      await assert.rejects(store.list('connector'), (err) => {
        assert.ok(isSkiffError(err, 'SKIFF_ERR_FORBIDDEN'), String(err));
        assert.ok(err.message.includes(hint('list')), err.message);
        assert.match(err.message, /refused to list configmaps in namespace team-a/);
        return true;
      });
    } else {
      await assert.rejects(store.getSecret('ca'), (err) => {
        assert.ok(isSkiffError(err, 'SKIFF_ERR_FORBIDDEN'), String(err));
        assert.ok(err.message.includes(hint('get')), err.message);
        assert.match(err.message, /refused to get secrets "skiff-key-ca" in namespace team-a/);
        return true;
      });
    }
    // A watch's refusal carries no Status body: the rule comes from the call.
    const watchErr = await withTimeout(
      new Promise<unknown>((resolve) => {
        void new Watch(kc).watch(
          `/api/v1/namespaces/${NS}/${resource}`,
          {},
          () => undefined,
          resolve,
        );
      }),
      10_000,
      `a refused watch of ${resource}`,
    );
    const failure = apiFailure(watchErr, 'watch', resource, NS);
    assert.ok(isSkiffError(failure, 'SKIFF_ERR_FORBIDDEN'), failure.message);
    assert.ok(
      failure.message.includes(`if the router was refused, ${hint('watch')}`),
      failure.message,
    );
  }

  test('a person refused is told which right to ask a namespace admin for, not to edit the Role', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(alice);
    const store = new KubeStore(kc.makeApiClient(CoreV1Api), OTHER_NS);
    await assert.rejects(store.list('connector'), (err) => {
      assert.ok(isSkiffError(err, 'SKIFF_ERR_FORBIDDEN'), String(err));
      const grant = { verb: 'list', resource: 'configmaps', group: '' };
      for (const text of [
        `refused to list configmaps in namespace ${OTHER_NS}`,
        forbiddenText('alice', grant, OTHER_NS),
        `alice needs verb "list" on "configmaps" in API group "" in namespace ${OTHER_NS}: ask a namespace admin for a RoleBinding`,
      ]) {
        assert.ok(err.message.includes(text), `${err.message}\nlacks: ${text}`);
      }
      assert.ok(!err.message.includes(`Role ${ROUTER_ROLE}`), err.message);
      return true;
    });
  });

  test('kubectl delete -k removes the install and the controllers collect what it made', async () => {
    ok(await install());
    assert.ok((await installObjects(NS)).length > 0);
    ok(await asAlice(['delete', '-n', NS, '-k', KUBE_DIR, '--wait=false']));
    await pollUntil(
      'no object of the install left',
      async () => (await installObjects(NS)).length === 0,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });
});
