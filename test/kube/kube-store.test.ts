import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { isSkiffError } from '../../src/errors.js';
import { connectKube } from '../../src/kube/connect.js';
import { KubeStore } from '../../src/state/kube-store.js';
import { ControlPlane, controlPlaneUnavailable } from '../controlplane/controlplane.js';
import { writeKubeconfig } from '../controlplane/kubeconfig.js';
import { pickPort } from '../helpers/ports.js';
import { sampleRecords } from '../helpers/records.js';
import { storeContract } from '../unit/state/store-contract.js';
import { manifests, recordManifest } from './records.js';
import { ok, rulesWithout, type SiteNamespace, siteNamespace } from './site-namespace.js';

/**
 * KubeStore on a real kube-apiserver, as the router's ServiceAccount (a TokenRequest token,
 * so RBAC checks each call against the Role): what it claims of the API (conflicts, a
 * create after a 404, labels and list selection, how refusals read) is what the server does.
 * test/unit/state/kube-store.test.ts keeps what only a stand-in can show.
 */

const unavailable = controlPlaneUnavailable();
if (unavailable !== undefined && process.env.CI === 'true') throw new Error(unavailable);

const T = { timeout: 60_000 };

interface Meta {
  metadata: { name: string; labels?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

describe('KubeStore on the API server', { skip: unavailable ?? false, timeout: 600_000 }, () => {
  let cp: ControlPlane;
  let serial = 0;
  let ns: SiteNamespace;
  let store: KubeStore;
  const kubeconfig = process.env.KUBECONFIG;
  before(
    async () => {
      cp = await ControlPlane.start();
    },
    { timeout: 180_000 },
  );
  after(async () => {
    if (kubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = kubeconfig;
    await cp?.stop();
  });

  /** A store in a fresh namespace, as its router's ServiceAccount, bound to a Role with `rules`. */
  async function storeIn(rules?: Parameters<typeof siteNamespace>[2]): Promise<KubeStore> {
    ns = await siteNamespace(cp, `store-${process.pid}-${++serial}`, rules);
    process.env.KUBECONFIG = ns.kubeconfig;
    const conn = connectKube();
    assert.equal(conn.namespace, ns.name, 'the namespace comes from the context');
    return new KubeStore(conn.core, conn.namespace);
  }

  describe('the store contract', () => {
    beforeEach(async () => {
      store = await storeIn();
    });
    afterEach(() => ns.delete());
    storeContract(() => store);
  });

  describe('objects', () => {
    beforeEach(async () => {
      store = await storeIn();
    });
    afterEach(() => ns.delete());

    it('keeps a record as a labelled ConfigMap and a key as an Opaque Secret', T, async () => {
      await store.put('connector', 'api', { address: 'api', host: '10.0.0.7', port: 8080 });
      const { keyPem } = await sampleRecords();
      await store.putSecret('ca', keyPem);
      const cms = (
        JSON.parse(ok(await ns.kubectl(['get', 'configmaps', '-o', 'json']))) as { items: Meta[] }
      ).items.filter((c) => c.metadata.name !== 'kube-root-ca.crt');
      assert.deepEqual(
        cms.map((c) => c.metadata.name),
        ['skiff-connector-api'],
      );
      assert.deepEqual(cms[0]!.metadata.labels, {
        'app.kubernetes.io/managed-by': 'skiff',
        'skiff.dev/kind': 'connector',
      });
      assert.equal(cms[0]!.data?.['connector.yaml'], 'address: api\nhost: 10.0.0.7\nport: 8080\n');
      const secret = JSON.parse(
        ok(await ns.kubectl(['get', 'secret', 'skiff-key-ca', '-o', 'json'])),
      ) as Meta;
      assert.equal(secret.type, 'Opaque');
      assert.equal(Buffer.from(secret.data?.['key.pem'] ?? '', 'base64').toString(), keyPem);
    });

    it(
      'reads records applied with kubectl, YAML or JSON, as GitOps would write them',
      T,
      async () => {
        ok(
          await ns.kubectl(
            ['apply', '-f', '-'],
            manifests(
              recordManifest(
                'listener',
                'db',
                '{"address": "db", "host": "127.0.0.1", "port": 5432}',
              ),
              recordManifest('listener', 'web', { address: 'web', host: '127.0.0.1', port: 8080 }),
            ),
          ),
        );
        const db = { address: 'db', host: '127.0.0.1', port: 5432 };
        const web = { address: 'web', host: '127.0.0.1', port: 8080 };
        assert.deepEqual(await store.get('listener', 'db'), db);
        assert.deepEqual(await store.list('listener'), [db, web]);
        // A put replaces the applied object: last writer wins.
        await store.put('listener', 'db', { ...db, port: 5433 });
        assert.equal((await store.get('listener', 'db'))?.port, 5433);
      },
    );

    it(
      'lists only its own labelled objects of the kind, and reports a misnamed one',
      T,
      async () => {
        const rec = { address: 'api', host: '127.0.0.1', port: 1 };
        const unlabelled = recordManifest('connector', 'plain', { ...rec, address: 'plain' });
        (unlabelled.metadata as { labels?: unknown }).labels = undefined;
        ok(
          await ns.kubectl(
            ['apply', '-f', '-'],
            manifests(
              recordManifest('connector', 'api', rec),
              unlabelled,
              recordManifest('listener', 'api', rec),
              recordManifest('connector', 'x', { ...rec, address: 'x' }, 'handmade'),
            ),
          ),
        );
        assert.deepEqual(await store.list('connector'), [rec]);
        assert.deepEqual(
          store.problems
            .list()
            .map((p) => [p.where, p.problem.includes('not named skiff-connector-<name>')]),
          [[`configmaps "handmade" in namespace ${ns.name}`, true]],
        );
      },
    );

    it('names a broken ConfigMap and says how to fix it', T, async () => {
      await store.put('link', 'east', (await sampleRecords()).link);
      ok(
        await ns.kubectl([
          'patch',
          'configmap',
          'skiff-link-east',
          '--type=merge',
          '-p',
          JSON.stringify({ data: { 'link.yaml': 'ok: [unclosed' } }),
        ]),
      );
      await assert.rejects(store.get('link', 'east'), (err) => {
        assert.ok(isSkiffError(err, 'SKIFF_ERR_STATE_CORRUPT'), String(err));
        assert.match(
          err.message,
          new RegExp(`configmaps "skiff-link-east" in namespace ${ns.name}`),
        );
        assert.match(err.message, /kubectl edit/);
        return true;
      });
      assert.deepEqual(await store.list('link'), [], 'skipped in a list');
    });
  });

  describe('refusals', () => {
    afterEach(() => ns.delete());

    it('turns RBAC refusals into FORBIDDEN naming the verb, object and namespace', T, async () => {
      store = await storeIn(rulesWithout('secrets', 'create'));
      await assert.rejects(store.putSecret('ca', (await sampleRecords()).keyPem), (err) => {
        assert.ok(isSkiffError(err, 'SKIFF_ERR_FORBIDDEN'), String(err));
        assert.match(
          err.message,
          new RegExp(`refused to create secrets "skiff-key-ca" in namespace ${ns.name}: `),
        );
        // The server's own words name who was refused what.
        assert.match(
          err.message,
          new RegExp(
            `User "system:serviceaccount:${ns.name}:skiff-router" cannot create resource "secrets"`,
          ),
        );
        assert.match(err.message, /Role/);
        return true;
      });
      await ns.delete();
      store = await storeIn(rulesWithout('configmaps', 'list'));
      await assert.rejects(store.list('connector'), (err) => {
        assert.ok(isSkiffError(err, 'SKIFF_ERR_FORBIDDEN'), String(err));
        assert.match(err.message, /refused to list configmaps in namespace/);
        return true;
      });
    });

    it(
      'reports refused credentials and an unreachable API server as PLATFORM_UNAVAILABLE',
      T,
      async () => {
        store = await storeIn();
        const forged = await cp.tokenKubeconfig('forged', 'not-a-token', ns.name);
        process.env.KUBECONFIG = forged;
        const badToken = new KubeStore(connectKube().core, ns.name);
        await assert.rejects(badToken.get('site', 'site'), (err) => {
          assert.ok(isSkiffError(err, 'SKIFF_ERR_PLATFORM_UNAVAILABLE'), String(err));
          assert.match(err.message, /401/);
          return true;
        });
        // A port nothing listens on: the server is not there at all.
        const nowhere = await writeKubeconfig(`${forged}.nowhere`, {
          name: 'nowhere',
          server: `https://127.0.0.1:${await pickPort()}`,
          caPem: cp.ca.certPem,
          credential: { token: 'x' },
          namespace: ns.name,
        });
        process.env.KUBECONFIG = nowhere;
        const unreachable = new KubeStore(connectKube().core, ns.name);
        await assert.rejects(unreachable.list('link'), (err) => {
          assert.ok(isSkiffError(err, 'SKIFF_ERR_PLATFORM_UNAVAILABLE'), String(err));
          assert.match(err.message, new RegExp(`cannot list configmaps in namespace ${ns.name}`));
          return true;
        });
      },
    );
  });
});
