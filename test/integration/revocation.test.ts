/**
 * Proves deleting a link revokes its credential at the issuer, whichever side deletes it:
 * the dialler's link does not come back up, and a hand-made TLS client presenting the
 * deleted link's certificate and key (copied from the dialler's state dir while the link was
 * up) is refused by the issuer's link server: the connection is closed with no HTTP response
 * to its upgrade request, and the issuer logs `link refused`. A probe with the same
 * credential while the link is live gets an HTTP response, so the refusal is the revocation
 * and not the probe.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LinkInfo } from '../../src/admin/api.js';
import { findLink, linkSites, SITE_A, SITE_B, type TwoSites, twoSites } from '../helpers/pair.js';
import { match } from '../helpers/router.js';
import {
  type LinkCredential,
  type ProbeResult,
  probeLink,
  readLinkCredential,
} from '../helpers/tls-probe.js';
import { pollUntil } from '../helpers/wait.js';

function describeProbe(p: ProbeResult): string {
  return `secureConnected=${p.secureConnected} error=${p.error} timedOut=${p.timedOut} response=${JSON.stringify(p.response.toString('latin1').slice(0, 80))}`;
}

describe('revocation: a deleted link credential is refused at the TLS handshake', {
  timeout: 180_000,
}, () => {
  let sites: TwoSites | undefined;

  before(
    async () => {
      sites = await twoSites({ settings: { backoffMaxMs: 1000 } });
    },
    { timeout: 60_000 },
  );

  after(() => sites?.dispose(), { timeout: 30_000 });

  /** Both ends report the link up (status, not just events), e.g. after a probe disturbed it. */
  async function bothUp(dialLink: string): Promise<void> {
    const { a, b } = sites!;
    await pollUntil(`link ${dialLink} up at both ends`, async () => {
      const [atB, atA] = await Promise.all([findLink(b, dialLink), findLink(a, SITE_B)]);
      return atB?.state === 'up' && atA?.state === 'up';
    });
  }

  /** After a delete: the probe with the old credential is refused and the issuer logs it. */
  async function assertCredentialRefused(credential: LinkCredential, since: number): Promise<void> {
    const { a } = sites!;
    const probe = await probeLink(a.linkPort, credential);
    assert.equal(
      probe.timedOut,
      false,
      `the issuer closed the connection (${describeProbe(probe)})`,
    );
    assert.equal(
      probe.response.length,
      0,
      `no HTTP response to a revoked credential (${describeProbe(probe)})`,
    );
    assert.ok(probe.localPort, 'the probe connected');
    // The dialler may retry the dead link too; find the line about this probe's connection.
    const refused = await a.waitForEvent(
      (e) =>
        e.msg === 'link refused' &&
        typeof e.remote === 'string' &&
        e.remote.endsWith(`:${probe.localPort}`),
      { since, timeoutMs: 10_000 },
    );
    assert.equal(typeof refused.reason, 'string');
    assert.notEqual(refused.reason, '', 'link refused gives a reason');
  }

  test('link delete at the issuer: the dialler stays down and the copied credential is refused', {
    timeout: 60_000,
  }, async (t) => {
    const { a, b, workDir } = sites!;
    const link: LinkInfo = await linkSites(a, b, workDir);
    assert.equal(link.name, SITE_A);
    const credential = await readLinkCredential(b.stateDir, SITE_A);

    // Control: while the link is live, the same credential gets through TLS to HTTP.
    const live = await probeLink(a.linkPort, credential);
    assert.match(
      live.response.toString('latin1'),
      /^HTTP\/1\.1 \d{3}/,
      `a live credential gets an HTTP response (${describeProbe(live)})`,
    );
    await bothUp(SITE_A);

    const sinceA = a.mark();
    const sinceB = b.mark();
    const deleted = await a.cli(['link', 'delete', SITE_B]);
    assert.equal(deleted.code, 0, deleted.stderr);

    await pollUntil('the dialler to stop showing the link up', async () => {
      const atB = await findLink(b, SITE_A);
      return atB === undefined || atB.state !== 'up';
    });
    await pollUntil(
      'the issuer to drop the link',
      async () => (await findLink(a, SITE_B))?.state !== 'up',
    );

    await assertCredentialRefused(credential, sinceA);
    const refused = a.eventsSince(sinceA, (e) => e.msg === 'link refused');
    t.diagnostic(
      `issuer refused with reason(s): ${refused.map((e) => String(e.reason)).join(', ')}`,
    );

    // By now the dialler has had time for several 1 s backoff rounds: it never came back up.
    assert.deepEqual(
      b.eventsSince(sinceB, match('link up', { link: SITE_A })),
      [],
      'no link up at the dialler',
    );
    assert.deepEqual(
      a.eventsSince(sinceA, match('link up', { link: SITE_B })),
      [],
      'no link up at the issuer',
    );
    const atB = await findLink(b, SITE_A);
    assert.ok(atB === undefined || atB.state !== 'up', `dialler link state: ${atB?.state}`);
  });

  test('link delete at the dialler: the issuer revokes the credential and refuses it', {
    timeout: 60_000,
  }, async () => {
    const { a, b, workDir } = sites!;
    const name = 'second';
    await linkSites(a, b, workDir, { name });
    const credential = await readLinkCredential(b.stateDir, name);
    await bothUp(name);

    const sinceA = a.mark();
    const deleted = await b.cli(['link', 'delete', name]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(await findLink(b, name), undefined, 'the dialler no longer lists the link');
    await pollUntil(
      'the issuer to drop the link',
      async () => (await findLink(a, SITE_B))?.state !== 'up',
    );

    await assertCredentialRefused(credential, sinceA);
    assert.deepEqual(
      a.eventsSince(sinceA, match('link up', { link: SITE_B })),
      [],
      'no link up at the issuer',
    );
  });
});
