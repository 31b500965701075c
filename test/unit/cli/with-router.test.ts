import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { LinkInfo, ListenerInfo, SiteStatus } from '../../../src/admin/api.js';
import type { AdminServer } from '../../../src/admin/server.js';
import { ErrorCode, SkiffError } from '../../../src/errors.js';
import { signToken } from '../../../src/token/token.js';
import { assertCliError, cliJson, cliOk, runCli } from '../../helpers/cli.js';
import {
  type FakeAdmin,
  type FakeRouterDir,
  fakeRouterDir,
  sampleConsole,
  sampleDump,
  sampleLinks,
  sampleListeners,
  sampleNetwork,
  sampleStatus,
  sampleToken,
  sampleTokens,
} from '../../helpers/fake-admin.js';
import { pollUntil } from '../../helpers/wait.js';
import { makeFixture, tokenBody } from '../token/fixture.js';

// The real `skiff` binary against the real admin server, whose AdminApi is a stand-in:
// this proves the CLI's requests, its output and its errors, not the router's behaviour.
describe('skiff CLI against an admin server', () => {
  let state: FakeRouterDir;
  let dir: string;
  let fake: FakeAdmin;
  let server: AdminServer;

  before(async () => {
    state = await fakeRouterDir('skiff-cli-');
    ({ dir, fake } = state);
    server = await state.serve();
  });
  after(async () => {
    await server.close();
    await state.remove();
  });
  beforeEach(() => {
    fake.calls.length = 0;
  });

  it('link status -o json prints exactly the links the router returned', async () => {
    assert.deepStrictEqual(await cliJson<LinkInfo[]>(dir, ['link', 'status']), sampleLinks);
    assert.deepStrictEqual(
      await cliJson<LinkInfo>(dir, ['link', 'status', 'north']),
      sampleLinks[1],
    );
  });

  it('link status prints an aligned table for people', async () => {
    const { stdout } = await cliOk(dir, ['link', 'status']);
    assert.equal(
      stdout,
      [
        'NAME   ID            DIR  PEER   STATE       COST  RTT     STREAMS  ERROR',
        'east   4f0c1d2e3a4b  out  east   up          1     2.50ms  3        -',
        'north  5a6b7c8d9e0f  in   north  down        5     -       0        -',
        'south  6c7d8e9f0a1b  out  -      connecting  2     -       0        connect ECONNREFUSED 10.0.0.9:8443',
        '',
      ].join('\n'),
    );
  });

  it('link status NAME of an unknown link exits 4', async () => {
    const result = await runCli(dir, ['link', 'status', 'west']);
    assertCliError(result, /no link named west/);
    assert.equal(result.code, 4);
  });

  it('listener list prints a table', async () => {
    const { stdout } = await cliOk(dir, ['listener', 'list']);
    assert.equal(
      stdout,
      [
        'ADDRESS      LISTEN           STATE     STREAMS  ERROR',
        'api          127.0.0.1:18080  bound     1        -',
        'db.internal  [::1]:15432      retrying  0        port 15432 is in use',
        '',
      ].join('\n'),
    );
    assert.deepStrictEqual(
      await cliJson<ListenerInfo[]>(dir, ['listener', 'list']),
      sampleListeners,
    );
  });

  it('status prints the site, then links, listeners, connectors and addresses', async () => {
    const { stdout } = await cliOk(dir, ['status']);
    const lines = stdout.split('\n');
    assert.equal(
      lines[0],
      'site west (6f1c2a8e-0000-4000-8000-000000000001), local platform, link URL wss://127.0.0.1:8443/v1/link',
    );
    assert.equal(lines[1], 'router 0.1.0, pid 4242, up 1h2m');
    assert.equal(
      lines[2],
      'streams 4 open, 5000000000 since start; buffered 12.0 KiB (peak 1.5 MiB)',
    );
    for (const heading of ['Links:', 'Listeners:', 'Connectors:', 'Addresses:']) {
      assert.ok(lines.includes(heading), `no ${heading} section in:\n${stdout}`);
    }
    assert.ok(lines.includes('  api          west,east'), stdout);
    assert.deepStrictEqual(await cliJson<SiteStatus>(dir, ['status']), sampleStatus);
  });

  it('network status prints sites, links and addresses', async () => {
    const { stdout } = await cliOk(dir, ['network', 'status']);
    assert.match(stdout, /^Sites:\n {2}SITE {2}ID/);
    assert.match(stdout, /west {2}north {2}5 +-/);
    assert.deepStrictEqual(await cliJson(dir, ['network', 'status']), sampleNetwork);
  });

  it('token create writes the token with mode 0600 and asks for the given expiry and uses', async () => {
    const file = join(dir, 'west.token.yaml');
    const { stdout } = await cliOk(dir, ['token', 'create', file, '--expiry', '2h', '--uses', '3']);
    // The fake lists sampleTokens[0] (2 uses) for the token it creates, whatever was asked.
    assert.match(stdout, /^token written to .*west\.token\.yaml \(2 uses, expires /);
    assert.equal(await readFile(file, 'utf8'), sampleToken.yaml);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepStrictEqual(fake.calls, [
      { method: 'createToken', args: [{ expiryMs: 7_200_000, uses: 3 }] },
      { method: 'listTokens', args: [] },
    ]);
  });

  it('token create defaults to 15m and 1 use, and prints the result with -o json, without the token text', async () => {
    const file = join(dir, 'default.token.yaml');
    const created = await cliJson(dir, ['token', 'create', file]);
    assert.deepStrictEqual(created, { ...sampleTokens[0], file });
    assert.equal(await readFile(file, 'utf8'), sampleToken.yaml);
    assert.deepStrictEqual(fake.calls[0]?.args, [{ expiryMs: 900_000, uses: 1 }]);
  });

  it('token create refuses an existing file without asking the router for a token', async () => {
    const file = join(dir, 'existing.yaml');
    await writeFile(file, 'keep me');
    const result = await runCli(dir, ['token', 'create', file]);
    assertCliError(result, /existing\.yaml already exists/);
    assert.equal(await readFile(file, 'utf8'), 'keep me');
    assert.deepStrictEqual(fake.calls, []);
  });

  it('link create sends the token file text, name and cost', async () => {
    const file = join(dir, 'from-east.yaml');
    // A token of the right shape: link create refuses any other before asking the router.
    const fx = await makeFixture();
    const token = signToken(tokenBody(fx.ca), fx.ca.keyPem);
    await writeFile(file, token);
    const info = await cliJson<LinkInfo>(dir, [
      'link',
      'create',
      file,
      '--name',
      'to-east',
      '--cost',
      '4',
    ]);
    assert.equal(info.name, 'to-east');
    assert.deepStrictEqual(fake.calls, [
      { method: 'createLink', args: [{ token, name: 'to-east', cost: 4 }] },
    ]);
    const text = await cliOk(dir, ['link', 'create', file]);
    assert.equal(text.stdout, 'link east is up\n');
  });

  it('passes expose, listener and delete requests through', async () => {
    await cliOk(dir, ['expose', 'api', '--target', '[::1]:8080']);
    await cliOk(dir, ['unexpose', 'api']);
    const created = await cliOk(dir, [
      'listener',
      'create',
      'db',
      '--port',
      '15432',
      '--host',
      '::1',
    ]);
    assert.equal(created.stdout, 'listening on [::1]:15432 for db\n');
    await cliOk(dir, ['listener', 'delete', 'db']);
    assert.deepStrictEqual(await cliJson(dir, ['link', 'delete', 'east']), { name: 'east' });
    assert.deepStrictEqual(fake.calls, [
      { method: 'expose', args: [{ address: 'api', host: '::1', port: 8080 }] },
      { method: 'unexpose', args: ['api'] },
      { method: 'createListener', args: [{ address: 'db', host: '::1', port: 15432 }] },
      { method: 'deleteListener', args: ['db'] },
      { method: 'deleteLink', args: ['east'] },
    ]);
  });

  it("prints the router's error as one line and exits with its code", async () => {
    fake.failWith(
      'unexpose',
      new SkiffError(ErrorCode.NOT_FOUND, 'no connector for web at this site'),
    );
    fake.failWith('createListener', new SkiffError(ErrorCode.PORT_IN_USE, 'port 15432 is in use'));
    const notFound = await runCli(dir, ['unexpose', 'web']);
    assert.equal(assertCliError(notFound), 'skiff: no connector for web at this site');
    assert.equal(notFound.code, 4);
    const inUse = await runCli(dir, ['listener', 'create', 'db', '--port', '15432']);
    assert.equal(assertCliError(inUse), 'skiff: port 15432 is in use');
    assert.equal(inUse.code, 1);
  });

  it('debug dump writes the dump to a new file', async () => {
    const file = join(dir, 'dump.json');
    await cliOk(dir, ['debug', 'dump', file]);
    assert.equal(await readFile(file, 'utf8'), sampleDump);
  });

  it('console asks the router to start it where told and prints the URL', async () => {
    const { stdout } = await cliOk(dir, ['console', '--host', '[::1]', '--port', '18090']);
    assert.deepEqual(fake.calls, [
      { method: 'startConsole', args: [{ host: '::1', port: 18090 }] },
    ]);
    assert.equal(
      stdout.trimEnd().split('\n').at(-1),
      sampleConsole.url,
      'the URL alone on its line',
    );
    fake.calls.length = 0;
    const doc = await cliJson<typeof sampleConsole>(dir, ['console']);
    assert.deepEqual(doc, sampleConsole);
    assert.deepEqual(fake.calls[0]?.args, [{ port: 0 }], 'no host: the router picks 127.0.0.1');
    const bad = await runCli(dir, ['console', '--port', '0']);
    assertCliError(bad, /--port "0" is not a port/);
  });

  it('console --open hands the URL to xdg-open, and says so clearly when there is none', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const opened = join(dir, 'opened');
    await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > ${opened}\n`);
    await chmod(join(bin, 'xdg-open'), 0o755);
    await cliOk(dir, ['console', '--open'], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    // The opener runs detached: poll for what it wrote.
    const url = await pollUntil('the fake xdg-open to write the URL it got', () =>
      readFile(opened, 'utf8').catch(() => undefined),
    );
    assert.equal(url, sampleConsole.url);
    const none = await runCli(dir, ['console', '--open'], { env: { PATH: join(dir, 'empty') } });
    assert.equal(
      none.stdout.trimEnd().split('\n').at(-1),
      sampleConsole.url,
      'the URL is printed first',
    );
    assertCliError(none, /cannot open a browser: xdg-open is not installed/);
  });
});
