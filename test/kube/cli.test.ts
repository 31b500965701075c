import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkServerIdentity, type PeerCertificate, connect as tlsConnect } from 'node:tls';
import { parse } from 'yaml';
import type {
  ConnectorInfo,
  LinkInfo,
  ListenerInfo,
  SiteStatus,
  TokenInfo,
} from '../../src/admin/api.js';
import { ControlPlane, controlPlaneUnavailable } from '../controlplane/controlplane.js';
import {
  assertCliError,
  assertCliJsonError,
  type CliResult,
  json,
  runCli,
} from '../helpers/cli.js';
import { loadCliOutputSchema, schemaProblems } from '../helpers/json-schema.js';
import { withFreePort } from '../helpers/ports.js';
import { match } from '../helpers/router.js';
import {
  connect,
  patternDigest,
  receiveAll,
  sendPattern,
  startEchoServer,
  type TcpServer,
} from '../helpers/tcp.js';
import { Cleanup, pollUntil } from '../helpers/wait.js';
import { KubeRouter } from './kube-router.js';
import { ok, type SiteNamespace, siteNamespace } from './site-namespace.js';

/**
 * The CLI on the kubernetes platform (decision 0024) against a real kube-apiserver: two
 * namespaces, each with a router running as its ServiceAccount (as router.test.ts starts
 * them), and every command run as dana, whose only rights are RoleBindings to the built-in
 * `admin` ClusterRole in those two namespaces.
 */

const unavailable = controlPlaneUnavailable();
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const T = { timeout: 120_000 };
const RBAC_SETTLES = { timeoutMs: 20_000, intervalMs: 100 };

describe('the CLI on kubernetes', { skip: unavailable ?? false, timeout: 900_000 }, () => {
  let cp: ControlPlane;
  let a: SiteNamespace;
  let b: SiteNamespace;
  let routerA: KubeRouter;
  let routerB: KubeRouter;
  /** Kubeconfigs: dana, admin of both namespaces; vic, `view` in A; nobody, no rights. */
  let dana: string;
  let vic: string;
  let nobody: string;
  let dir: string;
  const cleanup = new Cleanup();

  before(
    async () => {
      cp = await ControlPlane.start();
      cleanup.add(() => cp.stop());
      dir = await mkdtemp(join(tmpdir(), 'skiff-kube-cli-'));
      cleanup.add(() => rm(dir, { recursive: true, force: true }));
      a = await siteNamespace(cp, `cli-a-${process.pid}`);
      b = await siteNamespace(cp, `cli-b-${process.pid}`);
      for (const [user, role, ns] of [
        ['dana', 'admin', a],
        ['dana', 'admin', b],
        ['vic', 'view', a],
      ] as const) {
        ok(
          await ns.kubectl([
            'create',
            'rolebinding',
            `${user}-${role}`,
            `--clusterrole=${role}`,
            `--user=${user}`,
          ]),
        );
      }
      dana = await cp.userKubeconfig('dana');
      vic = await cp.userKubeconfig('vic');
      nobody = await cp.userKubeconfig('nobody');
      for (const ns of [a, b]) {
        await pollUntil(
          `dana to be admin of ${ns.name}`,
          async () =>
            (await cp.kubectl(['get', 'secrets', '-n', ns.name], { kubeconfig: dana })).code === 0,
          RBAC_SETTLES,
        );
      }
      routerA = await KubeRouter.started({ ns: a });
      cleanup.add(() => routerA.dispose());
      routerB = await KubeRouter.started({ ns: b });
      cleanup.add(() => routerB.dispose());
    },
    { timeout: 240_000 },
  );
  after(() => cleanup.run());

  /** `skiff --platform kubernetes -n NS ...args` as `kubeconfig`'s user (dana by default). */
  function skiff(
    ns: SiteNamespace | string,
    args: readonly string[],
    kubeconfig = dana,
  ): Promise<CliResult> {
    const name = typeof ns === 'string' ? ns : ns.name;
    return runCli(undefined, ['--platform', 'kubernetes', '-n', name, ...args], {
      env: { KUBECONFIG: kubeconfig },
      timeoutMs: 90_000,
    });
  }

  async function skiffJson<T>(ns: SiteNamespace, args: readonly string[]): Promise<T> {
    return json<T>(await skiff(ns, ['-o', 'json', ...args]));
  }

  /** The schema problems of a `-o json` document (docs/cli-output.schema.json). */
  function schemaOf(result: CliResult): string[] {
    assert.equal(result.code, 0, `${result.command}: ${result.stderr}`);
    const schema = loadCliOutputSchema();
    const {
      apiVersion: _,
      kind,
      action,
      ...body
    } = JSON.parse(result.stdout) as Record<string, unknown>;
    const name = String(kind);
    if (name.endsWith('List')) {
      const item = schema.$defs[name.slice(0, -'List'.length)]!;
      return schemaProblems(schema, { type: 'array', items: item }, body.items, '$.items');
    }
    const def = (action !== undefined && schema.$defs[`${name}Result`]) || schema.$defs[name];
    assert.ok(def, `${name} is documented`);
    return schemaProblems(schema, def, body);
  }

  async function requestsLeft(ns: SiteNamespace): Promise<string[]> {
    const out = ok(
      await ns.kubectl(['get', 'secrets', '-l', 'skiff.dev/kind=request', '-o', 'name']),
    );
    return out.split('\n').filter((l) => l !== '');
  }

  /** Makes a token in A (as dana) and links B to it; resolves with B's link and the time taken. */
  async function link(name: string): Promise<{ link: LinkInfo; ms: number }> {
    const file = join(dir, `${name}.yaml`);
    const made = await skiff(a, ['token', 'create', file]);
    assert.equal(made.code, 0, made.stderr);
    const t0 = performance.now();
    const created = await skiff(b, ['-o', 'json', 'link', 'create', file, '--name', name]);
    const ms = performance.now() - t0;
    return { link: json<LinkInfo>(created), ms };
  }

  it(
    'status reads the router status; a namespace without a router says how to install one',
    T,
    async () => {
      await pollUntil(
        'A to have written its status',
        async () => (await skiff(a, ['status'])).code === 0,
      );
      const status = await skiffJson<SiteStatus>(a, ['status']);
      assert.equal(status.site.name, a.name);
      assert.equal(status.site.platform, 'kubernetes');
      assert.equal(status.pid > 0, true);
      const text = await skiff(a, ['status']);
      assert.match(text.stdout, new RegExp(`site ${a.name} \\(`));

      const none = await siteNamespace(cp, `cli-none-${process.pid}`);
      try {
        ok(
          await none.kubectl([
            'create',
            'rolebinding',
            'dana-admin',
            '--clusterrole=admin',
            '--user=dana',
          ]),
        );
        await pollUntil(
          'dana to be admin of the routerless namespace',
          async () => (await skiff(none, ['status'])).code === 3,
          RBAC_SETTLES,
        );
        const result = await skiff(none, ['status']);
        assertCliError(
          result,
          new RegExp(
            `no skiff router has run in namespace ${none.name} .*kubectl apply -n ${none.name} -k deploy/kubernetes`,
          ),
        );
      } finally {
        await none.delete();
      }
    },
  );

  it(
    'token create in A and link create in B: the router redeems it, the link is up in both statuses',
    T,
    async (t) => {
      const file = join(dir, 'first.yaml');
      const made = await skiff(a, ['-o', 'json', 'token', 'create', file, '--expiry', '10m']);
      const token = json<TokenInfo & { file: string }>(made);
      assert.equal(token.state, 'active');
      assert.equal(token.uses, 1);
      const body = parse(await readFile(file, 'utf8')) as {
        urls: string[];
        issuer: { name: string };
      };
      assert.equal(body.issuer.name, a.name);
      // No link Service here (the routers run outside deploy/): the site's own link URL.
      assert.deepEqual(body.urls, [`wss://127.0.0.1:${routerA.linkPort}/v1/link`]);
      assert.deepEqual(await requestsLeft(a), [], 'the answered request is deleted');

      const since = routerB.mark();
      const wall0 = Date.now();
      const t0 = performance.now();
      const created = await skiff(b, ['link', 'create', file]);
      const linkMs = performance.now() - t0;
      // Where the time goes, from the router's log: when its key and the link were made.
      const at = (msg: string, shiftMs = 0) => {
        const event = routerB.eventsSince(since, match(msg))[0];
        const time = typeof event?.time === 'string' ? Date.parse(event.time) : Number.NaN;
        return Number.isNaN(time + shiftMs) ? 'not logged' : `${time + shiftMs - wall0} ms`;
      };
      const answered = routerB.eventsSince(since, match('request answered'))[0];
      t.diagnostic(
        `after link create started: B's router took the request up at ${at('request answered', -Number(answered?.ms))}, made the link at ${at('link created')}, had it up at ${at('link up')}, answered at ${at('request answered')}`,
      );
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, new RegExp(`link ${a.name}`));
      // Off a terminal, the wait says what it waits for, a line per change.
      assert.match(created.stderr, /waiting for the token to be redeemed: the router in namespace/);
      t.diagnostic(`link create (token redeemed by the router, link up): ${Math.round(linkMs)} ms`);

      const out = await skiffJson<LinkInfo[]>(b, ['link', 'status']);
      assert.deepEqual(
        out.map((l) => [l.name, l.direction, l.state, l.peerSiteName]),
        [[a.name, 'out', 'up', a.name]],
      );
      const t1 = performance.now();
      const incoming = await pollUntil(`A's status to show the link up`, async () => {
        const links = await skiffJson<LinkInfo[]>(a, ['link', 'status']);
        return links.find((l) => l.direction === 'in' && l.state === 'up');
      });
      t.diagnostic(
        `A's skiff-status showed it up ${Math.round(performance.now() - t1)} ms after link create returned`,
      );
      assert.equal(incoming.peerSiteName, b.name);
      assert.equal(incoming.id, out[0]!.id, 'the same link at both ends');
      assert.deepEqual(await requestsLeft(b), []);

      // The link key was made in B's router and stored by it; dana's CLI never held it.
      const keys = ok(
        await b.kubectl(['get', 'secrets', '-l', 'skiff.dev/kind=key', '-o', 'name']),
      );
      assert.match(keys, new RegExp(`secret/skiff-key-link-${a.name}`));

      const tokens = await skiffJson<TokenInfo[]>(a, ['token', 'list']);
      assert.equal(tokens.find((t) => t.id === token.id)?.state, 'used');

      // What the CLI reads back from the namespace has the shapes docs/cli-output.schema.json gives.
      for (const [ns, args] of [
        [a, ['status']],
        [b, ['status']],
        [a, ['link', 'list']],
        [b, ['link', 'list', a.name]],
        [a, ['token', 'list']],
        [a, ['connector', 'list']],
        [b, ['listener', 'list']],
        [b, ['network', 'status']],
        [b, ['version']],
      ] as const) {
        assert.deepEqual(schemaOf(await skiff(ns, ['-o', 'json', ...args])), [], args.join(' '));
      }
    },
  );

  it(
    'expose in A and listener create in B take effect: bytes flow through the link',
    T,
    async () => {
      const echo: TcpServer = await startEchoServer();
      try {
        await pollUntil('the link to be up', async () => {
          const links = await skiffJson<LinkInfo[]>(b, ['link', 'status']);
          return links.some((l) => l.state === 'up') || undefined;
        });
        const exposed = await skiff(a, [
          'expose',
          'echo',
          '--target',
          `127.0.0.1:${echo.port}`,
          '--wait',
        ]);
        assert.equal(exposed.code, 0, exposed.stderr);
        const record = parse(
          ok(
            await a.kubectl([
              'get',
              'configmap',
              'skiff-connector-echo',
              '-o',
              'jsonpath={.data.connector\\.yaml}',
            ]),
          ),
        ) as Record<string, unknown>;
        assert.deepEqual(record, { address: 'echo', host: '127.0.0.1', port: echo.port });

        await withFreePort(async (port) => {
          const made = await skiff(b, [
            'listener',
            'create',
            'echo',
            '--port',
            String(port),
            '--wait',
          ]);
          assert.equal(made.code, 0, made.stderr);
          const listeners = await skiffJson<ListenerInfo[]>(b, ['listener', 'list']);
          assert.deepEqual(
            listeners.map((l) => [l.address, l.port, l.state]),
            [['echo', port, 'bound']],
          );
          const socket = await connect(port);
          const sent = patternDigest(256 * 1024, 7);
          const [received] = await Promise.all([
            receiveAll(socket),
            sendPattern(socket, 256 * 1024, 7),
          ]);
          assert.deepEqual(received, sent);

          const del = await skiff(b, ['listener', 'delete', 'echo']);
          assert.equal(del.code, 0, del.stderr);
          await pollUntil(
            'the listener to be gone from B',
            async () => (await skiffJson<ListenerInfo[]>(b, ['listener', 'list'])).length === 0,
          );
        });

        // A workload target is written as the record the router resolves to ready pods.
        const workload = await skiff(a, [
          '-o',
          'json',
          'expose',
          'deployment/api',
          '--port',
          '8080',
          '--target-port',
          'http',
        ]);
        const info = json<ConnectorInfo>(workload);
        assert.deepEqual(
          [info.address, info.workload, info.port, info.targetPort],
          ['api', 'deployment/api', 8080, 'http'],
        );
        const again = await skiff(a, ['expose', 'deployment/api', '--port', '8080']);
        assertCliError(again, /"api" is already exposed in namespace \S+, to deployment\/api/);
        const connectors = await pollUntil('A to report both connectors', async () => {
          const list = await skiffJson<ConnectorInfo[]>(a, ['connector', 'list']);
          return list.length === 2 ? list : undefined;
        });
        assert.deepEqual(
          connectors.map((c) => [c.address, c.workload ?? `${c.host}:${c.port}`]),
          [
            ['api', 'deployment/api'],
            ['echo', `127.0.0.1:${echo.port}`],
          ],
        );
        for (const address of ['api', 'echo']) {
          const gone = await skiff(a, ['unexpose', address]);
          assert.equal(gone.code, 0, gone.stderr);
        }
        const absent = await skiff(a, ['unexpose', 'echo']);
        assert.equal(absent.code, 4);
        assert.equal((await skiff(a, ['unexpose', 'echo', '--ignore-not-found'])).code, 0);
        await pollUntil(
          'A to report no connectors',
          async () => (await skiffJson<ConnectorInfo[]>(a, ['connector', 'list'])).length === 0,
        );
      } finally {
        await echo.close();
      }
    },
  );

  it(
    "token create advertises the link Service's address; the router's certificate names it",
    T,
    async () => {
      const service = (spec: object) =>
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'skiff' },
          spec: {
            selector: {
              'app.kubernetes.io/name': 'skiff',
              'app.kubernetes.io/component': 'router',
            },
            ports: [{ name: 'link', port: routerA.linkPort, targetPort: 'link' }],
            ...spec,
          },
        });
      const urlsOf = async (file: string) =>
        (parse(await readFile(file, 'utf8')) as { urls: string[] }).urls;
      try {
        // ClusterIP (deploy/'s default): its DNS name, with a note that only this cluster reaches it.
        ok(await a.kubectl(['apply', '-f', '-'], service({ type: 'ClusterIP' })));
        const clusterIp = await skiff(a, ['token', 'create', join(dir, 'cluster-ip.yaml')]);
        assert.equal(clusterIp.code, 0, clusterIp.stderr);
        assert.match(
          clusterIp.stderr,
          new RegExp(
            `note: the token advertises skiff\\.${a.name}\\.svc, which only this cluster reaches`,
          ),
        );
        assert.deepEqual(await urlsOf(join(dir, 'cluster-ip.yaml')), [
          `wss://skiff.${a.name}.svc:${routerA.linkPort}/v1/link`,
        ]);

        // A NodePort with no router pod on a node: what to do instead.
        ok(await a.kubectl(['delete', 'service', 'skiff']));
        ok(await a.kubectl(['apply', '-f', '-'], service({ type: 'NodePort' })));
        const nodePort = await skiff(a, ['token', 'create', join(dir, 'node-port.yaml')]);
        assertCliError(nodePort, /no router pod runs on a node yet; .*or pass --link-host/);

        // A LoadBalancer given an address (the test plays the cloud's controller): a link
        // made from the token goes through it.
        ok(await a.kubectl(['delete', 'service', 'skiff']));
        ok(await a.kubectl(['apply', '-f', '-'], service({ type: 'LoadBalancer' })));
        ok(
          await a.kubectl([
            'patch',
            'service',
            'skiff',
            '--subresource=status',
            '--type=merge',
            '-p',
            JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } } }),
          ]),
        );
        const lbFile = join(dir, 'lb.yaml');
        const lb = await skiff(a, ['token', 'create', lbFile]);
        assert.equal(lb.code, 0, lb.stderr);
        assert.equal(lb.stderr, '', 'no note for a load balancer');
        assert.deepEqual(await urlsOf(lbFile), [`wss://127.0.0.1:${routerA.linkPort}/v1/link`]);
        const linked = json<LinkInfo>(
          await skiff(b, ['-o', 'json', 'link', 'create', lbFile, '--name', 'via-lb']),
        );
        assert.equal(linked.state, 'up');
        assert.equal((await skiff(b, ['link', 'delete', 'via-lb'])).code, 0);
      } finally {
        await a.kubectl(['delete', 'service', 'skiff', '--ignore-not-found']);
      }

      // --link-host wins; a host the link server certificate does not name is added to it,
      // served from then on without a restart (a redeemer checks the host it dials).
      const since = routerA.mark();
      const named = join(dir, 'named.yaml');
      const made = await skiff(a, [
        'token',
        'create',
        named,
        '--link-host',
        'skiff.example.test',
        '--link-port',
        String(routerA.linkPort),
      ]);
      assert.equal(made.code, 0, made.stderr);
      assert.deepEqual(await urlsOf(named), [
        `wss://skiff.example.test:${routerA.linkPort}/v1/link`,
      ]);
      await routerA.waitForEvent(
        match('link server certificate reissued to name the advertised hosts'),
        { since },
      );
      const ca = (parse(await readFile(named, 'utf8')) as { ca: string }).ca;
      const peer = await new Promise<PeerCertificate>((resolve, reject) => {
        const socket = tlsConnect(
          {
            host: '127.0.0.1',
            port: routerA.linkPort,
            servername: 'skiff.example.test',
            ca,
            minVersion: 'TLSv1.3',
          },
          () => {
            resolve(socket.getPeerCertificate());
            socket.destroy();
          },
        );
        socket.once('error', reject);
      });
      assert.equal(checkServerIdentity('skiff.example.test', peer), undefined);
      // A second token for the same host changes nothing.
      const again = routerA.mark();
      assert.equal(
        (
          await skiff(a, [
            'token',
            'create',
            join(dir, 'named-2.yaml'),
            '--link-host',
            'skiff.example.test',
          ])
        ).code,
        0,
      );
      assert.equal(
        routerA.eventsSince(
          again,
          match('link server certificate reissued to name the advertised hosts'),
        ).length,
        0,
      );
    },
  );

  it('a bad token is refused with what to do, and nothing is left behind', T, async () => {
    const garbage = join(dir, 'garbage.yaml');
    await writeFile(garbage, 'kind: not-a-token\n');
    const refused = await skiff(b, ['link', 'create', garbage]);
    assertCliError(refused);
    assert.notEqual(refused.code, 0);

    const file = join(dir, 'tampered.yaml');
    assert.equal((await skiff(a, ['token', 'create', file])).code, 0);
    const text = await readFile(file, 'utf8');
    await writeFile(join(dir, 'tampered2.yaml'), text.replace(/uses: 1/, 'uses: 9'));
    const tampered = await skiff(b, [
      '-o',
      'json',
      'link',
      'create',
      join(dir, 'tampered2.yaml'),
      '--name',
      'tampered',
    ]);
    const err = assertCliJsonError(tampered, 'SKIFF_ERR_TOKEN_TAMPERED');
    assert.match(err.message, /token/i);
    // Also in B's status, for whoever looks later.
    const problem = await pollUntil("the failure in B's status", async () =>
      (await skiffJson<SiteStatus>(b, ['status'])).problems.find(
        (p) => p.kind === 'request' && /^CreateLink failed at \S+: /.test(p.problem),
      ),
    );
    assert.match(
      problem.where,
      new RegExp(`secrets "skiff-request-createlink-[0-9a-f]+" in namespace ${b.name}`),
    );

    // Used once, then again: the issuer says it is used up.
    const { link: first } = await link('twice');
    assert.equal(first.state, 'up');
    const twice = await skiff(b, [
      '-o',
      'json',
      'link',
      'create',
      join(dir, 'twice.yaml'),
      '--name',
      'twice-2',
    ]);
    const used = assertCliJsonError(twice, 'SKIFF_ERR_TOKEN_USED');
    assert.match(used.message, /token/);
    assert.deepEqual(await requestsLeft(b), []);
    assert.equal((await skiff(b, ['link', 'delete', 'twice'])).code, 0);
  });

  it('token list and revoke, link update and delete go through the router', T, async (t) => {
    const file = join(dir, 'revoked.yaml');
    const token = json<TokenInfo>(await skiff(a, ['-o', 'json', 'token', 'create', file]));
    const revoked = json<TokenInfo>(await skiff(a, ['-o', 'json', 'token', 'revoke', token.id]));
    assert.equal(revoked.state, 'revoked');
    const refused = await skiff(b, ['-o', 'json', 'link', 'create', file, '--name', 'revoked']);
    assertCliJsonError(refused, 'SKIFF_ERR_TOKEN_REVOKED');

    const { link: made, ms } = await link('costly');
    t.diagnostic(`link create (second link): ${Math.round(ms)} ms`);
    const updated = json<LinkInfo>(
      await skiff(b, ['-o', 'json', 'link', 'update', 'costly', '--cost', '7']),
    );
    assert.equal(updated.cost, 7);
    await pollUntil(
      'B to report the new cost',
      async () =>
        (await skiffJson<LinkInfo[]>(b, ['link', 'list'])).find((l) => l.name === 'costly')
          ?.cost === 7,
    );
    assert.equal((await skiff(b, ['link', 'delete', 'costly'])).code, 0);
    await pollUntil('both statuses to drop the link', async () => {
      const [inB, inA] = await Promise.all([
        skiffJson<LinkInfo[]>(b, ['link', 'list']),
        skiffJson<LinkInfo[]>(a, ['link', 'list']),
      ]);
      return !inB.some((l) => l.id === made.id) && !inA.some((l) => l.id === made.id);
    });
    const missing = await skiff(b, ['link', 'delete', 'costly']);
    assert.equal(missing.code, 4, missing.stderr);
  });

  it(
    "site delete removes the site's objects once its router is stopped, and keeps skiff-settings",
    T,
    async () => {
      const c = await siteNamespace(cp, `cli-c-${process.pid}`);
      const local = new Cleanup();
      local.add(() => c.delete());
      try {
        ok(
          await c.kubectl([
            'create',
            'rolebinding',
            'dana-admin',
            '--clusterrole=admin',
            '--user=dana',
          ]),
        );
        ok(
          await c.kubectl([
            'create',
            'configmap',
            'skiff-settings',
            '--from-literal=settings.json={}',
          ]),
        );
        const router = await KubeRouter.started({ ns: c });
        local.add(() => router.dispose());
        await pollUntil(
          'dana to see C running',
          async () => (await skiff(c, ['status'])).code === 0,
          RBAC_SETTLES,
        );
        const { pid } = await router.status();
        const running = await skiff(c, ['site', 'delete', '--yes']);
        assertCliError(
          running,
          new RegExp(
            `the router in namespace ${c.name} is running \\(pid ${pid}\\); stop it first`,
          ),
        );
        await router.stop();
        // What needs the router says it is not running, and leaves no request behind.
        const asked = await skiff(c, ['token', 'create', join(dir, 'c.yaml')]);
        assertCliError(
          asked,
          new RegExp(
            `the router in namespace ${c.name} stopped at \\S+; see: kubectl get pods -n ${c.name}`,
          ),
        );
        assert.equal(asked.code, 3);
        assert.deepEqual(await requestsLeft(c), []);
        // Without a terminal a script must say --yes; nothing is deleted.
        const unasked = await skiff(c, ['site', 'delete']);
        assert.equal(unasked.code, 2, unasked.stderr);
        const deleted = await skiff(c, ['-o', 'json', 'site', 'delete', '--yes']);
        assert.deepEqual(schemaOf(deleted), []);
        assert.deepEqual(json(deleted), {
          name: c.name,
          namespace: c.name,
          left: ['configmaps/skiff-settings'],
        });
        const rest = ok(
          await c.kubectl([
            'get',
            'configmaps,secrets',
            '-l',
            'app.kubernetes.io/managed-by=skiff',
            '-o',
            'name',
          ]),
        );
        assert.equal(rest.trim(), '', 'nothing skiff wrote is left');
        ok(await c.kubectl(['get', 'configmap', 'skiff-settings']));
        assert.equal((await skiff(c, ['site', 'delete', '--yes'])).code, 4);
        const ignored = await skiff(c, ['site', 'delete', '--yes', '--ignore-not-found']);
        assert.equal(ignored.code, 0, ignored.stderr);
        assert.match(ignored.stdout, new RegExp(`no site in namespace ${c.name}; nothing deleted`));
      } finally {
        await local.run();
      }
    },
  );

  it('without the rights, FORBIDDEN says which right to ask for', T, async () => {
    // view: may read the status, not write records nor read or write Secrets.
    const status = await skiff(a, ['status'], vic);
    assert.equal(status.code, 0, status.stderr);
    const expose = await skiff(a, ['-o', 'json', 'expose', 'x', '--target', '127.0.0.1:1'], vic);
    const refusal = assertCliJsonError(expose, 'SKIFF_ERR_FORBIDDEN');
    assert.match(refusal.message, /refused to (get|create|update) configmaps/);
    assert.match(refusal.message, /User "vic" cannot/);
    const token = await skiff(a, ['-o', 'json', 'token', 'create', join(dir, 'vic.yaml')], vic);
    assert.match(assertCliJsonError(token, 'SKIFF_ERR_FORBIDDEN').message, /secrets/);
    // No rights at all: even the status is refused.
    const none = await skiff(a, ['-o', 'json', 'status'], nobody);
    assert.match(
      assertCliJsonError(none, 'SKIFF_ERR_FORBIDDEN').message,
      new RegExp(`refused to get configmaps "skiff-status" in namespace ${a.name}`),
    );
    // No kubeconfig where KUBECONFIG points: said so.
    const lost = await skiff(a, ['status'], join(dir, 'no-such-kubeconfig'));
    assertCliError(lost, /kubeconfig/);
    // dana is admin of A and B only.
    const elsewhere = await skiff('default', ['-o', 'json', 'status']);
    assertCliJsonError(elsewhere, 'SKIFF_ERR_FORBIDDEN');
  });
});
