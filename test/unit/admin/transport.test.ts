import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { connectAdmin } from '../../../src/admin/client.js';
import { type AdminServer, startAdminServer } from '../../../src/admin/server.js';
import { adminSocketPath } from '../../../src/config/paths.js';
import { ErrorCode, isSkiffError, SkiffError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import {
  type FakeAdmin,
  type FakeRouterDir,
  fakeRouterDir,
  sampleConnectors,
  sampleDump,
  sampleLinks,
  sampleListeners,
  sampleNetwork,
  sampleStatus,
  sampleToken,
  sampleTokens,
} from '../../helpers/fake-admin.js';

/** Leaves a socket file nobody listens on, as a router killed with SIGKILL does. */
async function staleSocket(path: string): Promise<void> {
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.stdout.write('ok'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  assert.ok(existsSync(path), 'the killed listener should leave its socket file behind');
}

function assertSkiffError(code: ErrorCode, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(isSkiffError(err), `expected a SkiffError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

describe('admin API over the unix socket', () => {
  let state: FakeRouterDir;
  let dir: string;
  let fake: FakeAdmin;
  let server: AdminServer | undefined;
  let client: ReturnType<typeof connectAdmin> | undefined;

  beforeEach(async () => {
    state = await fakeRouterDir('skiff-admin-');
    ({ dir, fake } = state);
  });
  afterEach(async () => {
    client?.close();
    client = undefined;
    await server?.close();
    server = undefined;
    await state.remove();
  });

  async function start(): Promise<ReturnType<typeof connectAdmin>> {
    server = await state.serve();
    client = connectAdmin(dir);
    return client;
  }

  it('round-trips every RPC, keeping absent optional fields absent', async () => {
    const api = await start();
    assert.deepStrictEqual(await api.status(), sampleStatus);
    assert.deepStrictEqual(await api.listLinks(), sampleLinks);
    assert.deepStrictEqual(await api.listListeners(), sampleListeners);
    assert.deepStrictEqual(await api.networkStatus(), sampleNetwork);
    assert.equal(await api.debugDump(), sampleDump);
    assert.deepStrictEqual(await api.createToken({ expiryMs: 3_600_000, uses: 3 }), {
      ...sampleToken,
      uses: 3,
    });
    assert.deepStrictEqual(await api.createLink({ token: 'yaml text', cost: 7 }), {
      ...sampleLinks[0],
      cost: 7,
    });
    assert.equal(
      (await api.createLink({ token: 'yaml text', name: 'mine', cost: 1 })).name,
      'mine',
    );
    assert.equal(await api.deleteLink('east'), undefined);
    assert.deepStrictEqual(await api.expose({ address: 'api', host: '::1', port: 8080 }), {
      address: 'api',
      host: '::1',
      port: 8080,
      state: 'ready',
      activeStreams: 0,
    });
    assert.equal(await api.unexpose('api'), undefined);
    assert.deepStrictEqual(
      await api.createListener({ address: 'db', host: '127.0.0.1', port: 15432 }),
      { address: 'db', host: '127.0.0.1', port: 15432, state: 'bound', activeStreams: 0 },
    );
    assert.equal(await api.deleteListener('db'), undefined);
    assert.deepStrictEqual(await api.listTokens(), sampleTokens);
    assert.equal((await api.revokeToken(sampleTokens[0]!.id)).state, 'revoked');
    assert.equal((await api.updateLink({ name: 'east', cost: 9 })).cost, 9);
    assert.deepStrictEqual(await api.listConnectors(), sampleConnectors);
    assert.equal((await api.updateConnector({ address: 'api', port: 8081 })).port, 8081);
    assert.equal((await api.updateListener({ address: 'api', host: '::1' })).host, '::1');
    await api.expose({ address: 'api', host: '::1', port: 8080, replace: true });
    await api.createListener({ address: 'db', host: '127.0.0.1', port: 15432, replace: true });

    // What the router received is what the client sent (name absent stays absent).
    assert.deepStrictEqual(fake.calls, [
      { method: 'status', args: [] },
      { method: 'listLinks', args: [] },
      { method: 'listListeners', args: [] },
      { method: 'networkStatus', args: [] },
      { method: 'debugDump', args: [] },
      { method: 'createToken', args: [{ expiryMs: 3_600_000, uses: 3 }] },
      { method: 'createLink', args: [{ token: 'yaml text', cost: 7 }] },
      { method: 'createLink', args: [{ token: 'yaml text', name: 'mine', cost: 1 }] },
      { method: 'deleteLink', args: ['east'] },
      { method: 'expose', args: [{ address: 'api', host: '::1', port: 8080 }] },
      { method: 'unexpose', args: ['api'] },
      { method: 'createListener', args: [{ address: 'db', host: '127.0.0.1', port: 15432 }] },
      { method: 'deleteListener', args: ['db'] },
      { method: 'listTokens', args: [] },
      { method: 'revokeToken', args: [sampleTokens[0]!.id] },
      { method: 'updateLink', args: [{ name: 'east', cost: 9 }] },
      { method: 'listConnectors', args: [] },
      // Unset optional fields stay unset: an update changes only what it names.
      { method: 'updateConnector', args: [{ address: 'api', port: 8081 }] },
      { method: 'updateListener', args: [{ address: 'api', host: '::1' }] },
      { method: 'expose', args: [{ address: 'api', host: '::1', port: 8080, replace: true }] },
      {
        method: 'createListener',
        args: [{ address: 'db', host: '127.0.0.1', port: 15432, replace: true }],
      },
    ]);
  });

  it('creates the socket with mode 0600 and removes it on close', async () => {
    await start();
    const path = adminSocketPath(dir);
    const info = await stat(path);
    assert.ok(info.isSocket());
    assert.equal(info.mode & 0o777, 0o600);
    await server!.close();
    server = undefined;
    assert.equal(existsSync(path), false);
  });

  it('restores the process umask after binding', async () => {
    const before = process.umask();
    await start();
    assert.equal(process.umask(), before);
  });

  it('brings a SkiffError across with its code and message', async () => {
    const api = await start();
    const cases: Array<[ErrorCode, string]> = [
      [ErrorCode.NOT_FOUND, 'no link named nope'],
      [ErrorCode.ALREADY_EXISTS, 'a listener for api already exists'],
      [ErrorCode.INVALID_ARGUMENT, 'port 0 is not valid'],
      [ErrorCode.TOKEN_EXPIRED, 'the token expired at 2025-01-01T00:00:00Z'],
      [ErrorCode.PORT_IN_USE, 'port 18080 is in use'],
      // UNAVAILABLE on the wire, but with a skiff-code: not mistaken for "no router".
      [ErrorCode.ISSUER_UNREACHABLE, 'cannot reach the issuer at wss://east:8443'],
      [ErrorCode.STATE_CORRUPT, 'links/east.json cannot be parsed'],
    ];
    for (const [code, message] of cases) {
      fake.failWith('deleteLink', new SkiffError(code, message));
      await assert.rejects(api.deleteLink('x'), (err: unknown) => {
        assert.ok(isSkiffError(err));
        assert.equal(err.code, code);
        assert.equal(err.message, message);
        return true;
      });
    }
  });

  it('reports an unexpected router error as INTERNAL with its description', async () => {
    const api = await start();
    fake.failWith('status', new TypeError('cannot read properties of undefined'));
    await assert.rejects(
      api.status(),
      assertSkiffError(ErrorCode.INTERNAL, /^cannot read properties of undefined$/),
    );
  });

  it('turns a synchronous throw in the router into an error reply', async () => {
    const api = await start();
    fake.api.listLinks = () => {
      throw new SkiffError(ErrorCode.NOT_FOUND, 'thrown, not rejected');
    };
    await assert.rejects(api.listLinks(), assertSkiffError(ErrorCode.NOT_FOUND, /thrown/));
  });

  it('says NO_ROUTER, with the command to start one, when there is no socket', async () => {
    const api = connectAdmin(dir);
    try {
      await assert.rejects(api.status(), (err: unknown) => {
        assert.ok(isSkiffError(err, ErrorCode.NO_ROUTER));
        assert.equal(
          err.message,
          `no router is running for state dir ${dir}; start one with: skiff --state-dir ${dir} site run`,
        );
        assert.equal(err.exitCode, 3);
        return true;
      });
    } finally {
      api.close();
    }
  });

  it('says NO_ROUTER when the socket is left over from a dead router', async () => {
    await staleSocket(adminSocketPath(dir));
    const api = connectAdmin(dir);
    try {
      await assert.rejects(api.listLinks(), assertSkiffError(ErrorCode.NO_ROUTER));
    } finally {
      api.close();
    }
  });

  it('replaces a stale socket, but refuses one a live process answers on', async () => {
    const path = adminSocketPath(dir);
    await staleSocket(path);
    await start();
    assert.deepStrictEqual(await client!.listListeners(), sampleListeners);

    // A second server for the same state dir must not steal the live socket.
    await assert.rejects(
      startAdminServer(fake.api, path, silentLogger),
      assertSkiffError(ErrorCode.ROUTER_RUNNING),
    );
    assert.deepStrictEqual(await client!.listListeners(), sampleListeners);
  });

  it('refuses to delete a file that is not a socket', async () => {
    const path = adminSocketPath(dir);
    await writeFile(path, 'not a socket');
    await assert.rejects(
      startAdminServer(fake.api, path, silentLogger),
      assertSkiffError(ErrorCode.STATE_CORRUPT, /is not a socket/),
    );
    assert.ok(existsSync(path));
  });

  it('gives up on a call after its deadline', async () => {
    server = await state.serve();
    fake.hang('status');
    client = connectAdmin(dir, { timeoutMs: 300 });
    await assert.rejects(client.status(), assertSkiffError(ErrorCode.TIMEOUT));
  });
});
