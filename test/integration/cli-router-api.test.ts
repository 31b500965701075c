/**
 * The admin API the CLI verbs stand on (issue 10 points 1 and 2), on real routers: `expose`
 * and `listener create` of an address that has one refuse (ALREADY_EXISTS, exit 1) naming
 * what is there and `--replace`, and with `replace` retarget or move it; updates change one
 * field and refuse what is absent (NOT_FOUND); a listener moved to a busy port stays where
 * it was; deleting something absent exits 4; tokens are listed with their uses and state,
 * and a revoked token is refused at redemption, also after a restart. Before, `expose`
 * silently retargeted an existing connector.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConnectorInfo, CreatedToken, TokenInfo } from '../../src/admin/api.js';
import { type AdminClient, connectAdmin } from '../../src/admin/client.js';
import { ErrorCode, isSkiffError } from '../../src/errors.js';
import { createListener, moveOrTaken } from '../helpers/listeners.js';
import { type TwoSites, twoSites } from '../helpers/pair.js';
import { bindOwn, withFreePort } from '../helpers/ports.js';
import { connect, readAll, startEchoServer, startServer } from '../helpers/tcp.js';
import { Cleanup } from '../helpers/wait.js';

const code = (expected: ErrorCode, pattern?: RegExp) => (err: unknown) => {
  assert.ok(isSkiffError(err, expected), String(err));
  if (pattern) assert.match(err.message, pattern);
  return true;
};

async function echoThrough(port: number, text: string): Promise<void> {
  const socket = await connect(port);
  const received = readAll(socket);
  socket.end(text);
  assert.equal((await received).toString(), text);
}

describe('admin API: create refuses what exists, replace, update, NOT_FOUND, tokens', {
  timeout: 180_000,
}, () => {
  const cleanup = new Cleanup();
  let sites: TwoSites;
  let admin: AdminClient;
  let echoPorts: [number, number];
  before(
    async () => {
      sites = await twoSites();
      cleanup.add(() => sites.dispose());
      admin = connectAdmin(sites.a.stateDir, { timeoutMs: 10_000 });
      cleanup.add(() => admin.close());
      const echoes = await Promise.all([startEchoServer(), startEchoServer()]);
      for (const e of echoes) cleanup.add(() => e.close());
      echoPorts = [echoes[0].port, echoes[1].port];
    },
    { timeout: 60_000 },
  );
  after(() => cleanup.run(), { timeout: 30_000 });

  test('expose of an exposed address refuses, naming its target and --replace; replace retargets', {
    timeout: 30_000,
  }, async () => {
    const { a } = sites;
    const [one, two] = echoPorts;
    const first = await a.cli(['expose', 'web', '--target', `127.0.0.1:${one}`]);
    assert.equal(first.code, 0, first.stderr);
    const again = await a.cli(['expose', 'web', '--target', `127.0.0.1:${two}`]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(
      again.stderr,
      new RegExp(
        `"web" is already exposed at this site, to 127\\.0\\.0\\.1:${one}; pass --replace`,
      ),
    );
    const connectors = (await a.status()).connectors;
    assert.deepEqual(
      connectors.map((c) => c.port),
      [one],
      'the connector still has its target',
    );

    const replaced = await admin.expose({
      address: 'web',
      host: '127.0.0.1',
      port: two,
      replace: true,
    });
    assert.equal(replaced.port, two);
    const updated = await admin.updateConnector({ address: 'web', host: 'localhost' });
    assert.deepEqual([updated.host, updated.port], ['localhost', two], 'only the host changed');
    const listed = await admin.listConnectors();
    assert.deepEqual(
      listed.map((c: ConnectorInfo) => [c.address, c.host, c.port, c.state]),
      [['web', 'localhost', two, 'ready']],
    );
    await assert.rejects(
      admin.updateConnector({ address: 'none', port: 80 }),
      code(ErrorCode.NOT_FOUND),
    );
    const absent = await a.cli(['unexpose', 'none']);
    assert.equal(absent.code, 4, absent.stderr);
  });

  test('listener create of an existing address refuses; replace and update move it; a busy port leaves it', {
    timeout: 45_000,
  }, async () => {
    const { a } = sites;
    const { port: p1 } = await createListener(a, 'web');
    const [p2, moved] = await withFreePort(async (p2) => {
      const again = await a.cli(['listener', 'create', 'web', '--port', String(p2)]);
      assert.equal(again.code, 1, again.stderr);
      assert.match(
        again.stderr,
        new RegExp(`a listener for "web" already exists on 127\\.0\\.0\\.1:${p1}; pass --replace`),
      );
      await echoThrough(p1, 'still on the first port');

      const replaced = await moveOrTaken(p2, () =>
        admin.createListener({ address: 'web', host: '127.0.0.1', port: p2, replace: true }),
      );
      return [p2, replaced] as const;
    });
    assert.deepEqual([moved.port, moved.state], [p2, 'bound']);
    await echoThrough(p2, 'moved by replace');
    await assert.rejects(connect(p1), /ECONNREFUSED/, 'the old port is let go');

    // The blocker is the test's own server on p3; once it is gone, anyone may take p3 first.
    const [p3, updated] = await withFreePort(async (p3) => {
      const blocker = await bindOwn(p3, () => startServer(() => {}, { port: p3 }));
      try {
        await assert.rejects(
          admin.updateListener({ address: 'web', port: p3 }),
          code(ErrorCode.PORT_IN_USE, new RegExp(`port ${p3}\\b`)),
        );
      } finally {
        await blocker.close();
      }
      assert.equal((await a.listeners())[0]?.port, p2, 'unchanged after the refusal');
      await echoThrough(p2, 'still serving');

      const moved = await moveOrTaken(p3, () => admin.updateListener({ address: 'web', port: p3 }));
      return [p3, moved] as const;
    });
    assert.deepEqual([updated.port, updated.state], [p3, 'bound']);
    await echoThrough(p3, 'moved by update');

    await assert.rejects(
      admin.updateListener({ address: 'none', port: p1 }),
      code(ErrorCode.NOT_FOUND),
    );
    const absent = await a.cli(['listener', 'delete', 'none']);
    assert.equal(absent.code, 4, absent.stderr);
    const linkAbsent = await a.cli(['link', 'delete', 'none']);
    assert.equal(linkAbsent.code, 4, linkAbsent.stderr);
  });

  test('tokens are listed with uses and state; a revoked one is refused at redemption, also after a restart', {
    timeout: 60_000,
  }, async () => {
    const { a, b, workDir } = sites;
    const make = (file: string, uses: number) =>
      a.json<CreatedToken>(['token', 'create', join(workDir, file), '--uses', String(uses)]);
    const revoked = await make('revoked.yaml', 2);
    const good = await make('good.yaml', 1);
    const state = async () =>
      Object.fromEntries(
        (await admin.listTokens()).map((t: TokenInfo) => [t.id, `${t.state} ${t.used}/${t.uses}`]),
      );
    assert.deepEqual(await state(), { [revoked.id]: 'active 0/2', [good.id]: 'active 0/1' });

    assert.equal((await admin.revokeToken(revoked.id)).state, 'revoked');
    const refused = await b.cli(['link', 'create', join(workDir, 'revoked.yaml')]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /revoked this token/);
    const linked = await b.cli(['link', 'create', join(workDir, 'good.yaml')]);
    assert.equal(linked.code, 0, linked.stderr);
    assert.deepEqual(await state(), { [revoked.id]: 'revoked 0/2', [good.id]: 'used 1/1' });

    await a.restart();
    assert.equal((await admin.listTokens()).find((t) => t.id === revoked.id)?.state, 'revoked');
    const still = await b.cli(['link', 'create', join(workDir, 'revoked.yaml'), '--name', 'again']);
    assert.equal(still.code, 1, still.stderr);
    assert.match(still.stderr, /revoked this token/);
    await assert.rejects(admin.revokeToken('0'.repeat(32)), code(ErrorCode.NOT_FOUND));
  });
});
