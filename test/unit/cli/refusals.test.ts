import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertCliError, repoRoot, runCli } from '../../helpers/cli.js';

// The real `skiff` binary as a child process, against a state dir where no router runs.
describe('skiff CLI without a router', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('says no router is running, how to start one, and exits 3', async () => {
    for (const args of [['status'], ['link', 'status'], ['listener', 'list']]) {
      const result = await runCli(dir, args);
      const line = assertCliError(result);
      assert.equal(
        line,
        `skiff: no router is running for state dir ${dir}; start one with: skiff --state-dir ${dir} site run`,
      );
      assert.equal(result.code, 3, result.command);
      assert.equal(result.stdout, '');
    }
  });

  it('takes the state dir from SKIFF_STATE_DIR', async () => {
    const result = await runCli(undefined, ['status'], { env: { SKIFF_STATE_DIR: dir } });
    assertCliError(result, new RegExp(`for state dir ${dir};`));
  });

  it('prints the package version and that no router runs, with or without -o json; --version too', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const text = await runCli(dir, ['version']);
    assert.equal(text.code, 0);
    assert.equal(text.stdout, `skiff ${pkg.version}\nno router runs for state dir ${dir}\n`);
    const json = await runCli(dir, ['-o', 'json', 'version']);
    assert.deepEqual(JSON.parse(json.stdout), {
      apiVersion: 'skiff.dev/v1',
      kind: 'Version',
      version: pkg.version,
      stateDir: dir,
    });
    const flag = await runCli(dir, ['--version']);
    assert.equal(flag.code, 0);
    assert.equal(flag.stdout, `${pkg.version}\n`);
  });

  // Each is refused before the router would be asked, so exit 2 (bad input), not 3.
  const badInputs: Array<[string, (dir: string) => string[], RegExp]> = [
    [
      'a bad duration',
      (d) => ['token', 'create', join(d, 'x.yaml'), '--expiry', '15 minutes'],
      /--expiry: "15 minutes" is not a duration/,
    ],
    [
      'a zero duration',
      (d) => ['token', 'create', join(d, 'x.yaml'), '--expiry', '0s'],
      /must be more than zero/,
    ],
    [
      'zero uses',
      (d) => ['token', 'create', join(d, 'x.yaml'), '--uses', '0'],
      /--uses "0" must be a whole number of at least 1/,
    ],
    [
      'a fractional cost',
      (d) => ['link', 'create', join(d, 'x.yaml'), '--cost', '1.5'],
      /--cost "1.5"/,
    ],
    [
      'HOST:PORT without a port',
      () => ['expose', 'api', '--target', 'localhost'],
      /--target "localhost" is not HOST:PORT/,
    ],
    [
      'IPv6 without brackets',
      () => ['expose', 'api', '--target', '::1:80'],
      /IPv6 addresses in brackets/,
    ],
    [
      'a target port out of range',
      () => ['expose', 'api', '--target', '[::1]:65536'],
      /not a port/,
    ],
    ['expose without --target', () => ['expose', 'api'], /--target HOST:PORT/],
    [
      'a deployment target',
      () => ['expose', 'deployment/web', '--port', '80'],
      /--platform kubernetes/,
    ],
    ['a port of 0', () => ['listener', 'create', 'api', '--port', '0'], /--port "0" is not a port/],
    [
      'a port that is not a number',
      () => ['listener', 'create', 'api', '--port', 'http'],
      /--port "http"/,
    ],
    [
      'a bad listen host',
      () => ['listener', 'create', 'api', '--port', '80', '--host', 'a b'],
      /--host "a b"/,
    ],
    [
      'an upper-case address',
      () => ['listener', 'create', 'API', '--port', '8080'],
      /address "API" is not valid/,
    ],
    ['a too long address', () => ['unexpose', 'a'.repeat(64)], /at most 63/],
    [
      'a missing token file',
      (d) => ['link', 'create', join(d, 'no-such-token.yaml')],
      /cannot read token file \S+no-such-token.yaml: no such file/,
    ],
    [
      'a bad link name',
      (d) => ['link', 'create', join(d, 'x.yaml'), '--name', 'Bad_Name'],
      /link name "Bad_Name"/,
    ],
    [
      'site create on the kubernetes platform',
      () => ['--platform', 'kubernetes', 'site', 'create', 'west'],
      /^skiff: on the kubernetes platform the router creates the site at its first start/,
    ],
    [
      'a host target with kubernetes-only flags',
      () => ['--platform', 'kubernetes', 'expose', 'api', '--target', 'db:5432', '--port', '80'],
      /--port, --address and --target-port go with deployment\/NAME/,
    ],
    [
      'token create --link-host on the local platform',
      (d) => ['token', 'create', join(d, 't.yaml'), '--link-host', 'x.example'],
      /--link-host and --link-port of token create are for --platform kubernetes/,
    ],
    [
      'a namespace on the local platform',
      () => ['-n', 'prod', 'status'],
      /-n\/--namespace and --context are for --platform kubernetes/,
    ],
    [
      'a kubernetes-only expose flag',
      () => ['connector', 'create', 'api', '--target-port', '80'],
      /--platform kubernetes/,
    ],
    [
      'a bad site link port',
      () => ['site', 'create', 'west', '--link-port', '99999'],
      /--link-port "99999"/,
    ],
  ];
  for (const [what, args, pattern] of badInputs) {
    it(`refuses ${what} with one line and exit 2`, async () => {
      const result = await runCli(dir, args(dir));
      assertCliError(result, pattern);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
    });
  }

  const usageErrors: Array<[string, string[], RegExp]> = [
    ['an unknown command', ['fly'], /unknown command 'fly'/],
    ['an unknown subcommand', ['link', 'fly'], /unknown command 'fly' \(see: skiff link --help\)/],
    [
      'a group without a command',
      ['listener'],
      /missing command; use one of: create, delete, update, list/,
    ],
    ['no command at all', [], /missing command/],
    ['an unknown option', ['status', '--verbose'], /unknown option '--verbose'/],
    ['a missing argument', ['token', 'create'], /missing required argument 'FILE'/],
    ['a missing required option', ['listener', 'create', 'api'], /required option '--port <P>'/],
    ['an unknown output format', ['-o', 'xml', 'status'], /Allowed choices are text, json, yaml/],
  ];
  for (const [what, args, pattern] of usageErrors) {
    it(`refuses ${what} as a usage error: one line, exit 2`, async () => {
      const result = await runCli(dir, args);
      assertCliError(result, pattern);
      assert.equal(result.code, 2);
    });
  }

  it('changed nothing in the state dir while refusing', async () => {
    assert.deepEqual(await readdir(dir), []);
    assert.equal(existsSync(join(dir, 'x.yaml')), false);
  });
});
