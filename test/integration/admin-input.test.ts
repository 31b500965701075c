/**
 * Proves the router, not only the CLI, checks admin input (issue 9 point 9): raw gRPC calls
 * (the generated client, no CLI checks in between) with port 0, host "", bad hosts, ports
 * above 65535, names with '.', or a huge name are refused at once with INVALID_ARGUMENT (or,
 * past the 1 MiB receive limit, by gRPC itself) and a short clear message, and nothing is
 * saved; updates and token revocation (issue 10) by the same rules. Before, port 0 bound a random port, "" bound all interfaces, `not a host!!:70000`
 * was saved and a 2 MB name never answered.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AdminClient, connectAdmin } from '../../src/admin/client.js';
import { isSkiffError } from '../../src/errors.js';
import { RouterProcess } from '../helpers/router.js';

describe('admin API input from a raw gRPC client', { timeout: 60_000 }, () => {
  let router: RouterProcess;
  let client: AdminClient;
  before(async () => {
    router = await RouterProcess.started({ name: 'site-a' });
    client = connectAdmin(router.stateDir, { timeoutMs: 10_000 });
  });
  after(async () => {
    client?.close();
    await router?.dispose();
  });

  const refused = (pattern: RegExp) => (err: unknown) => {
    assert.ok(isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'), String(err));
    assert.match(err.message, pattern);
    assert.ok(err.message.length < 300, `a short message: ${err.message.length} chars`);
    return true;
  };

  const bad: [string, { address: string; host: string; port: number }, RegExp][] = [
    ['port 0', { address: 'web', host: '127.0.0.1', port: 0 }, /port 0 is not a port/],
    ['a port above 65535', { address: 'web', host: '127.0.0.1', port: 70000 }, /70000/],
    ['a negative port', { address: 'web', host: '127.0.0.1', port: -1 }, /not a port/],
    ['host ""', { address: 'web', host: '', port: 8080 }, /host "" is not a host/],
    ['a bad host', { address: 'web', host: 'not a host!!', port: 8080 }, /not a host name/],
    ['a name with a dot', { address: 'a.b', host: '127.0.0.1', port: 8080 }, /address "a.b"/],
    ['an upper-case name', { address: 'Web', host: '127.0.0.1', port: 8080 }, /lower-case/],
    [
      'a 100 KB name',
      { address: 'a'.repeat(100_000), host: '127.0.0.1', port: 8080 },
      /at most 63/,
    ],
  ];
  for (const [what, req, pattern] of bad) {
    test(`listener create and expose refuse ${what}, saving nothing`, async () => {
      await assert.rejects(client.createListener(req), refused(pattern));
      await assert.rejects(client.expose(req), refused(pattern));
    });
  }

  test('link and token requests are checked too', async () => {
    await assert.rejects(
      client.createLink({ token: 'x', name: 'a.b', cost: 1 }),
      refused(/link name/),
    );
    await assert.rejects(client.createLink({ token: 'x', cost: 0 }), refused(/cost 0/));
    await assert.rejects(client.createToken({ expiryMs: 60_000, uses: 0 }), refused(/uses 0/));
    await assert.rejects(client.createToken({ expiryMs: 0, uses: 1 }), refused(/expiry/));
    await assert.rejects(client.deleteLink(''), refused(/link name ""/));
  });

  test('updates, token revocation and the new request fields are checked by the same rules', async () => {
    for (const update of [client.updateListener, client.updateConnector]) {
      await assert.rejects(update({ address: 'web', port: 0 }), refused(/port 0 is not a port/));
      await assert.rejects(update({ address: 'web', port: 70000 }), refused(/70000/));
      await assert.rejects(update({ address: 'web', host: '' }), refused(/host "" is not a host/));
      await assert.rejects(update({ address: 'a.b', port: 80 }), refused(/address "a.b"/));
      await assert.rejects(update({ address: 'web' }), refused(/nothing to update/));
    }
    await assert.rejects(client.updateLink({ name: 'west', cost: 0 }), refused(/cost 0/));
    await assert.rejects(client.updateLink({ name: 'a.b', cost: 1 }), refused(/link name/));
    await assert.rejects(client.revokeToken('not-hex'), refused(/not a token id/));
    await assert.rejects(client.revokeToken('A'.repeat(32)), refused(/not a token id/));
  });

  test('the console request is checked by the same rules, and nothing starts', async () => {
    await assert.rejects(
      client.startConsole({ host: '', port: 0 }),
      refused(/host "" is not a host/),
    );
    await assert.rejects(
      client.startConsole({ host: 'not a host!!', port: 0 }),
      refused(/console host/),
    );
    await assert.rejects(client.startConsole({ port: 70000 }), refused(/console port 70000/));
    await assert.rejects(client.startConsole({ port: -1 }), refused(/console port/));
    const first = await client.startConsole({ port: 0 });
    assert.equal(first.started, true, 'the refused calls started no console');
    assert.equal(first.host, '127.0.0.1');
    await assert.rejects(
      client.startConsole({ host: '::1', port: 0 }),
      (err: unknown) =>
        isSkiffError(err, 'SKIFF_ERR_ALREADY_EXISTS') && /already serves/.test(err.message),
    );
    assert.deepEqual(await client.startConsole({ port: first.port }), { ...first, started: false });
  });

  test('a 2 MB name is refused at once by the 1 MiB receive limit', async () => {
    const started = performance.now();
    await assert.rejects(
      client.expose({ address: 'a'.repeat(2_000_000), host: '127.0.0.1', port: 8080 }),
      (err: unknown) => {
        assert.ok(isSkiffError(err), String(err));
        assert.match(err.message, /larger than max/i);
        return true;
      },
    );
    assert.ok(performance.now() - started < 5_000, 'answered at once');
    assert.equal((await client.status()).site.name, 'site-a', 'the router still answers');
  });

  test('nothing was saved or bound', async () => {
    const status = await client.status();
    assert.deepEqual(status.listeners, []);
    assert.deepEqual(status.connectors, []);
    for (const dir of ['listeners', 'connectors']) {
      const files = await readdir(join(router.stateDir, dir)).catch(() => []);
      assert.deepEqual(files, [], `${dir}/ is empty`);
    }
  });
});
