/**
 * Links have unique names at both ends (issue 10 point 1): a second link between the same
 * two sites is named `peer-2` at the dialler and at the issuer, a link made the other way
 * round never takes a name an incoming link has, every link shows an id both ends share,
 * and `link delete NAME` removes that one link only. Before, the second `link create` was
 * refused at the dialler, the issuer named every incoming link after the dialling site, and
 * `link delete` at the issuer revoked all of them. `link update --cost` (the admin API) at
 * the dialler changes the cost at both ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LinkInfo, NetworkStatus } from '../../src/admin/api.js';
import { type AdminClient, connectAdmin } from '../../src/admin/client.js';
import { ErrorCode, isSkiffError } from '../../src/errors.js';
import { createToken, type LinkedSites, twoLinkedSites } from '../helpers/pair.js';
import { match, type RouterProcess } from '../helpers/router.js';
import { pollUntil } from '../helpers/wait.js';

/** `link create TOKEN` at `dialler` with a fresh token of `issuer`; awaits `link up` at both ends by the names each gave it. */
async function linkAgain(
  sites: LinkedSites,
  issuer: RouterProcess,
  dialler: RouterProcess,
  names: { out: string; in: string },
): Promise<LinkInfo> {
  const token = await createToken(issuer, sites.workDir);
  const sinceIssuer = issuer.mark();
  const sinceDialler = dialler.mark();
  const link = await dialler.json<LinkInfo>(['link', 'create', token]);
  assert.equal(link.name, names.out, 'the dialler names the new link');
  await Promise.all([
    dialler.waitForEvent(match('link up', { link: names.out, direction: 'out' }), {
      since: sinceDialler,
    }),
    issuer.waitForEvent(match('link up', { link: names.in, direction: 'in' }), {
      since: sinceIssuer,
    }),
  ]);
  return link;
}

function names(links: LinkInfo[]): string[] {
  return links.map((l) => `${l.name} ${l.direction}`).sort();
}

function assertUniqueNames(links: LinkInfo[], where: string): void {
  assert.equal(new Set(links.map((l) => l.name)).size, links.length, `${where}: ${names(links)}`);
}

describe('link names are unique at both ends; delete removes one link', {
  timeout: 180_000,
}, () => {
  let sites: LinkedSites;
  let a: RouterProcess;
  let b: RouterProcess;
  let adminA: AdminClient;
  let adminB: AdminClient;
  before(
    async () => {
      sites = await twoLinkedSites();
      ({ a, b } = sites);
      adminA = connectAdmin(a.stateDir, { timeoutMs: 10_000 });
      adminB = connectAdmin(b.stateDir, { timeoutMs: 10_000 });
    },
    { timeout: 60_000 },
  );
  after(
    async () => {
      adminA?.close();
      adminB?.close();
      await sites?.dispose();
    },
    { timeout: 30_000 },
  );

  test('a second link between the same sites is named site-a-2 / site-b-2, with an id both ends share', {
    timeout: 45_000,
  }, async () => {
    await linkAgain(sites, a, b, { out: 'site-a-2', in: 'site-b-2' });
    const [atA, atB] = await Promise.all([a.links(), b.links()]);
    assert.deepEqual(names(atB), ['site-a out', 'site-a-2 out']);
    assert.deepEqual(names(atA), ['site-b in', 'site-b-2 in']);
    for (const link of atB) {
      assert.match(link.id, /^[0-9a-f]{12}$/);
      const peer = atA.find((l) => l.id === link.id);
      assert.ok(peer, `A shows B's link ${link.name} under the same id ${link.id}`);
      assert.equal(peer.name, link.name === 'site-a' ? 'site-b' : 'site-b-2');
    }
    assert.notEqual(atB[0]!.id, atB[1]!.id);

    // A name asked for explicitly is never changed: one taken is refused before the token is spent.
    const token = await createToken(a, sites.workDir);
    const taken = await b.cli(['link', 'create', token, '--name', 'site-a-2']);
    assert.equal(taken.code, 1, taken.stderr);
    assert.match(taken.stderr, /a link named "site-a-2" already exists/);
    assert.equal((await b.links()).length, 2, 'no link was made');
  });

  test('link delete NAME at the dialler removes that link at both ends and no other', {
    timeout: 45_000,
  }, async () => {
    await b.cli(['link', 'delete', 'site-a-2']).then((r) => assert.equal(r.code, 0, r.stderr));
    assert.deepEqual(names(await b.links()), ['site-a out']);
    await pollUntil('A to drop the incoming link site-b-2', async () => {
      const atA = await a.links();
      return names(atA).join(',') === 'site-b in' && atA[0]!.state === 'up';
    });
  });

  test('link delete NAME at the issuer revokes that link only; the other stays up', {
    timeout: 45_000,
  }, async () => {
    await linkAgain(sites, a, b, { out: 'site-a-2', in: 'site-b-2' });
    const result = await a.cli(['link', 'delete', 'site-b-2']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(names(await a.links()), ['site-b in']);
    const atB = await pollUntil('B to see site-a-2 revoked', async () => {
      const links = await b.links();
      return links.find((l) => l.name === 'site-a-2')?.state === 'revoked' && links;
    });
    assert.equal(atB.find((l) => l.name === 'site-a')?.state, 'up', 'the first link is untouched');
    await b.cli(['link', 'delete', 'site-a-2']).then((r) => assert.equal(r.code, 0, r.stderr));
  });

  test('a link made the other way round takes a name no link at either site has', {
    timeout: 45_000,
  }, async () => {
    // A dials B: A's default name "site-b" is its incoming link's, B's "site-a" its outgoing one's.
    await linkAgain(sites, b, a, { out: 'site-b-2', in: 'site-a-2' });
    const [atA, atB] = await Promise.all([a.links(), b.links()]);
    assertUniqueNames(atA, 'A');
    assertUniqueNames(atB, 'B');
    assert.deepEqual(names(atA), ['site-b in', 'site-b-2 out']);
    assert.deepEqual(names(atB), ['site-a out', 'site-a-2 in']);

    await a.cli(['link', 'delete', 'site-b-2']).then((r) => assert.equal(r.code, 0, r.stderr));
    assert.deepEqual(names(await a.links()), ['site-b in']);
    await pollUntil('B to drop the incoming link site-a-2', async () => {
      return names(await b.links()).join(',') === 'site-a out';
    });
  });

  test('a cost update at the dialler reaches the issuer and the network at both ends', {
    timeout: 45_000,
  }, async () => {
    const updated = await adminB.updateLink({ name: 'site-a', cost: 7 });
    assert.equal(updated.cost, 7);
    assert.equal((await b.links())[0]!.cost, 7, 'saved at the dialler');
    const costsOf = (n: NetworkStatus) => n.links.map((l) => `${l.from}>${l.to}:${l.cost}`).sort();
    for (const router of [a, b]) {
      await pollUntil(`${router.name} to route with cost 7 both ways`, async () => {
        const network = await router.json<NetworkStatus>(['network', 'status']);
        return costsOf(network).join(',') === 'site-a>site-b:7,site-b>site-a:7';
      });
    }
    assert.equal((await a.links())[0]!.cost, 7, "the issuer's incoming link shows it");

    await b.restart();
    await pollUntil('the link up again with cost 7', async () => {
      const [link] = await a.links();
      return link?.state === 'up' && link.cost === 7;
    });

    await assert.rejects(adminA.updateLink({ name: 'site-b', cost: 3 }), (err: unknown) => {
      assert.ok(isSkiffError(err, ErrorCode.INVALID_ARGUMENT), String(err));
      assert.match(err.message, /incoming.*site-b.*sets its cost/);
      return true;
    });
    await assert.rejects(adminB.updateLink({ name: 'nowhere', cost: 3 }), (err: unknown) =>
      isSkiffError(err, ErrorCode.NOT_FOUND),
    );
  });
});
