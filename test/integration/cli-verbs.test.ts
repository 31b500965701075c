/**
 * Issue 10 points 1 (CLI side), 2 and 5 through the real CLI against real routers: every
 * resource has the same verbs (list with its alias status, delete with --ignore-not-found,
 * update, connector create and delete as the long forms of expose and unexpose, token list
 * and revoke), each says what it did, refusals exit with their codes; --replace; updates take
 * effect without a restart; unknown subcommands suggest the nearest; the bash completion
 * script loads and completes; `site run` refuses a missing site and leaves nothing; `site
 * delete` refuses under a running router and without a confirmation; `version` names the
 * router; `debug dump -` writes to stdout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ConnectorInfo, LinkInfo, ListenerInfo, TokenInfo } from '../../src/admin/api.js';
import {
  assertCliError,
  type CliResult,
  childEnv,
  cliJson,
  cliOk,
  jsonDocument,
  runCli,
  skiffBin,
} from '../helpers/cli.js';
import { createListener, listenerCommand, listenerOnFreePort } from '../helpers/listeners.js';
import { useNetwork } from '../helpers/network.js';
import { createToken, waitForAddress } from '../helpers/pair.js';
import { withFreePort } from '../helpers/ports.js';
import { RouterProcess } from '../helpers/router.js';
import { connect, KiB, startEchoServer } from '../helpers/tcp.js';
import { echoStream } from '../helpers/traffic.js';
import { Cleanup, pollUntil, withTimeout } from '../helpers/wait.js';

describe('one set of verbs for every resource', { timeout: 180_000 }, () => {
  const net = useNetwork(['west', 'east', 'north'], {
    links: [
      ['west', 'east'],
      ['west', 'north'],
    ],
  });
  const dir = () => net().site('west').stateDir;

  test('list and its alias status print the same items; list NAME prints one, an unknown NAME exits 4', async () => {
    const west = net().site('west');
    await cliOk(dir(), ['expose', 'api', '--target', '127.0.0.1:9']);
    await createListener(west, 'db', { state: 'no-route' });
    for (const [group, key, name] of [
      ['link', 'name', 'east'],
      ['listener', 'address', 'db'],
      ['connector', 'address', 'api'],
    ] as const) {
      const listed = await cliJson<Array<Record<string, unknown>>>(dir(), [group, 'list']);
      const status = await cliJson<Array<Record<string, unknown>>>(dir(), [group, 'status']);
      assert.deepEqual(
        status.map((i) => i[key]),
        listed.map((i) => i[key]),
        `${group} status = ${group} list`,
      );
      assert.ok(
        listed.some((i) => i[key] === name),
        `${group} list has ${name}: ${JSON.stringify(listed)}`,
      );
      const one = await cliJson<Record<string, unknown>>(dir(), [group, 'list', name]);
      assert.equal(one[key], name);
      const missing = await west.cli([group, 'status', 'nothing-here']);
      assertCliError(missing, /nothing-here/);
      assert.equal(missing.code, 4, missing.command);
    }
    await cliOk(dir(), ['unexpose', 'api']);
    await cliOk(dir(), ['listener', 'delete', 'db']);
  });

  test('connector create is expose, connector delete is unexpose; each says what it did', async () => {
    const created = await cliOk(dir(), ['connector', 'create', 'web', '--target', '[::1]:8080']);
    assert.equal(created.stdout, 'exposed web -> [::1]:8080\n');
    const listed = await cliJson<ConnectorInfo[]>(dir(), ['connector', 'list']);
    assert.deepEqual(
      listed.filter((c) => c.address === 'web').map((c) => [c.host, c.port]),
      [['::1', 8080]],
    );
    const deleted = await cliOk(dir(), ['connector', 'delete', 'web']);
    assert.equal(deleted.stdout, 'web is no longer exposed from this site\n');
    const viaExpose = await cliOk(dir(), ['expose', 'web', '--target', '127.0.0.1:8081']);
    assert.equal(viaExpose.stdout, 'exposed web -> 127.0.0.1:8081\n');
    assert.equal(
      (await cliOk(dir(), ['unexpose', 'web'])).stdout,
      'web is no longer exposed from this site\n',
    );
    const noTarget = await runCli(dir(), ['connector', 'create', 'web']);
    assertCliError(noTarget, /skiff connector create web --target HOST:PORT/);
    assert.equal(noTarget.code, 2);
  });

  test('deleting something absent exits 4 and changes nothing; with --ignore-not-found it exits 0 and says nothing was there', async () => {
    const cases: Array<[string[], RegExp, string]> = [
      [['link', 'delete', 'nowhere'], /nowhere/, 'no link named nowhere; nothing deleted\n'],
      [['listener', 'delete', 'nowhere'], /nowhere/, 'no listener for nowhere; nothing deleted\n'],
      [
        ['connector', 'delete', 'nowhere'],
        /nowhere/,
        'nowhere is not exposed at this site; nothing deleted\n',
      ],
      [
        ['unexpose', 'nowhere'],
        /nowhere/,
        'nowhere is not exposed at this site; nothing deleted\n',
      ],
    ];
    const before = await cliJson<LinkInfo[]>(dir(), ['link', 'list']);
    for (const [args, pattern, said] of cases) {
      const refused = await runCli(dir(), args);
      assertCliError(refused, pattern);
      assert.equal(refused.code, 4, refused.command);
      const ignored = await cliOk(dir(), [...args, '--ignore-not-found']);
      assert.equal(ignored.stdout, said, ignored.command);
      const doc = jsonDocument(await runCli(dir(), ['-o', 'json', ...args, '--ignore-not-found']));
      assert.equal(doc.action, 'unchanged', args.join(' '));
    }
    assert.deepEqual(
      (await cliJson<LinkInfo[]>(dir(), ['link', 'list'])).map((l) => l.name),
      before.map((l) => l.name),
    );
  });

  test('expose and listener create refuse an existing address unless --replace, which says it replaced; update retargets', async () => {
    await cliOk(dir(), ['expose', 'api', '--target', '127.0.0.1:9']);
    const refused = await runCli(dir(), ['expose', 'api', '--target', '127.0.0.1:10']);
    assertCliError(refused, /already exposed at this site, to 127\.0\.0\.1:9; pass --replace/);
    assert.equal(refused.code, 1);
    assert.equal((await cliJson<ConnectorInfo>(dir(), ['connector', 'list', 'api'])).port, 9);
    const replaced = await cliOk(dir(), ['expose', 'api', '--target', '127.0.0.1:10', '--replace']);
    assert.equal(replaced.stdout, 'exposed api -> 127.0.0.1:10, replacing its previous target\n');
    const again = jsonDocument(
      await runCli(dir(), [
        '-o',
        'json',
        'connector',
        'create',
        'api',
        '--target',
        '127.0.0.1:11',
        '--replace',
      ]),
    );
    assert.deepEqual([again.action, again.port], ['updated', 11]);
    const fresh = jsonDocument(
      await runCli(dir(), [
        '-o',
        'json',
        'expose',
        'fresh',
        '--target',
        '127.0.0.1:12',
        '--replace',
      ]),
    );
    assert.deepEqual([fresh.action, fresh.port], ['created', 12]);
    const updated = await cliOk(dir(), ['connector', 'update', 'api', '--target', '127.0.0.1:13']);
    assert.equal(updated.stdout, 'connector for api updated: api -> 127.0.0.1:13\n');
    assert.equal((await cliJson<ConnectorInfo>(dir(), ['connector', 'list', 'api'])).port, 13);
    const absent = await runCli(dir(), [
      'connector',
      'update',
      'nothing-here',
      '--target',
      '127.0.0.1:1',
    ]);
    assertCliError(absent, /nothing-here/);
    assert.equal(absent.code, 4);

    const west = net().site('west');
    const { port: first } = await createListener(west, 'db', { state: 'no-route' });
    const [second, moved] = await withFreePort(async (second) => {
      const taken = await runCli(dir(), ['listener', 'create', 'db', '--port', String(second)]);
      assertCliError(
        taken,
        new RegExp(`already exists on 127\\.0\\.0\\.1:${first}; pass --replace`),
      );
      assert.equal(taken.code, 1);
      return [second, await listenerCommand(west, 'db', second, { args: ['--replace'] })] as const;
    });
    assert.equal(moved.code, 0, `${moved.command}: ${moved.stderr}`);
    assert.match(
      moved.stdout,
      new RegExp(`^listener for db replaced: now on 127\\.0\\.0\\.1:${second}`),
    );
    assert.equal((await cliJson<ListenerInfo>(dir(), ['listener', 'list', 'db'])).port, second);
    const nothing = await runCli(dir(), ['listener', 'update', 'db']);
    assertCliError(nothing, /say what changes: skiff listener update db --port P/);
    assert.equal(nothing.code, 2);
    for (const args of [
      ['unexpose', 'api'],
      ['unexpose', 'fresh'],
      ['listener', 'delete', 'db'],
    ]) {
      await cliOk(dir(), args);
    }
  });

  test('listener update --port takes effect without a restart: a new stream reaches the new port, the old port is closed', async () => {
    const west = net().site('west');
    const east = net().site('east');
    const server = net().track(await startEchoServer({ greeting: 'east' }));
    await cliOk(east.stateDir, ['expose', 'echo', '--target', `127.0.0.1:${server.port}`]);
    await waitForAddress(west, 'echo', 'east');
    const { port: first } = await createListener(west, 'echo');
    const stream = async (port: number, seed: number) => {
      const report = await echoStream(port, { bytes: 256 * KiB, seed, deadlineMs: 15_000 });
      assert.equal(report.outcome, 'complete', `port ${port}: ${report.error ?? report.outcome}`);
      assert.equal(report.site, 'east');
      assert.deepEqual(report.echoed, report.expected, 'byte-exact');
    };
    await stream(first, 1);
    const pid = west.pid;
    const { port: second, result: moved } = await listenerOnFreePort(west, 'echo', {
      verb: 'update',
    });
    assert.equal(moved.code, 0, `${moved.command}: ${moved.stderr}`);
    assert.equal(moved.stdout, `listener for echo updated: now on 127.0.0.1:${second}\n`);
    await stream(second, 2);
    await assert.rejects(connect(first), /ECONNREFUSED/, 'the old port no longer accepts');
    assert.equal(west.pid, pid, 'the same router process');
    await cliOk(dir(), ['listener', 'delete', 'echo']);
    await cliOk(east.stateDir, ['unexpose', 'echo']);
  });

  test('link update --cost changes the cost at both ends without a restart', async () => {
    const north = net().site('north');
    const updated = await cliOk(dir(), ['link', 'update', 'north', '--cost', '7']);
    assert.equal(updated.stdout, 'link north updated: cost 7\n');
    assert.equal((await cliJson<LinkInfo>(dir(), ['link', 'list', 'north'])).cost, 7);
    await pollUntil('north to learn the new cost of its link from west', async () =>
      (await north.links()).some((l) => l.peerSiteName === 'west' && l.cost === 7),
    );
    const absent = await runCli(dir(), ['link', 'update', 'nowhere', '--cost', '2']);
    assertCliError(absent, /nowhere/);
    assert.equal(absent.code, 4);
    const bad = await runCli(dir(), ['link', 'update', 'north', '--cost', '0']);
    assertCliError(bad, /--cost "0"/);
    assert.equal(bad.code, 2);
  });

  test('token list shows the tokens issued, never a secret; token revoke refuses later redemption', async () => {
    const north = net().site('north');
    const file = join(net().workDir, 'verbs-token.yaml');
    const created = await cliJson<{ id: string }>(dir(), ['token', 'create', file, '--uses', '2']);
    const secret = /^secret: (\S+)$/m.exec(await readFile(file, 'utf8'))?.[1];
    assert.ok(secret, 'the token file holds a secret');
    const listed = await cliJson<TokenInfo[]>(dir(), ['token', 'list']);
    const mine = listed.find((t) => t.id === created.id);
    assert.deepEqual([mine?.state, mine?.uses, mine?.used], ['active', 2, 0]);
    for (const args of [
      ['token', 'list'],
      ['token', 'status', created.id],
      ['-o', 'yaml', 'token', 'list'],
    ]) {
      const { stdout } = await cliOk(dir(), args);
      assert.ok(stdout.includes(created.id), `${args.join(' ')} shows the id`);
      assert.ok(!stdout.includes(secret), `${args.join(' ')} never shows the secret`);
    }
    const revoked = await cliOk(dir(), ['token', 'revoke', created.id]);
    assert.match(revoked.stdout, new RegExp(`^token ${created.id} revoked`));
    assert.equal((await cliJson<TokenInfo>(dir(), ['token', 'list', created.id])).state, 'revoked');
    const redeem = await north.cli(['link', 'create', file, '--name', 'revoked-one']);
    assertCliError(redeem, /revoked this token/);
    assert.equal(redeem.code, 1);
    const unknown = '0'.repeat(32);
    const absent = await runCli(dir(), ['token', 'revoke', unknown]);
    assertCliError(absent, new RegExp(unknown));
    assert.equal(absent.code, 4);
    const ignored = await cliOk(dir(), ['token', 'revoke', unknown, '--ignore-not-found']);
    assert.equal(ignored.stdout, `no token ${unknown} at this site; nothing revoked\n`);
    const bad = await runCli(dir(), ['token', 'revoke', 'xyz']);
    assertCliError(bad, /is not a token id/);
    assert.equal(bad.code, 2);
  });

  test('a second link between the same two sites gets its own name; link delete NAME removes that one link, at both ends', async () => {
    const west = net().site('west');
    const east = net().site('east');
    const token = await createToken(east, net().workDir);
    const second = await cliJson<LinkInfo>(dir(), ['link', 'create', token]);
    assert.equal(second.name, 'east-2', 'the name east is taken at west');
    const bothUp = async (router: RouterProcess, names: string[]) =>
      pollUntil(`${router.name}: links ${names.join(', ')} up`, async () => {
        const links = await router.links();
        return names.every((n) => links.some((l) => l.name === n && l.state === 'up'));
      });
    await bothUp(west, ['east', 'east-2', 'north']);
    await bothUp(east, ['west', 'west-2']);
    const ids = (await west.links()).filter((l) => l.peerSiteName === 'east').map((l) => l.id);
    assert.equal(new Set(ids).size, 2, `two links, two ids: ${ids.join(', ')}`);

    const deleted = await cliOk(dir(), ['link', 'delete', 'east-2']);
    assert.equal(deleted.stdout, 'link east-2 deleted\n');
    assert.deepEqual(
      (await west.links()).map((l) => l.name).sort(),
      ['east', 'north'],
      'west keeps its first link to east and its link to north',
    );
    const kept = await pollUntil(
      'east to drop the second link from west, and only it',
      async () => {
        const fromWest = (await east.links()).filter((l) => l.peerSiteName === 'west');
        return fromWest.length === 1 && fromWest;
      },
    );
    assert.equal(kept[0]?.id, (await west.links()).find((l) => l.name === 'east')?.id);
    assert.equal(kept[0]?.state, 'up');

    await cliOk(dir(), ['link', 'delete', 'east']);
    await pollUntil('east to drop its last link from west', async () =>
      (await east.links()).every((l) => l.peerSiteName !== 'west'),
    );
    assert.deepEqual(
      (await west.links()).map((l) => l.name),
      ['north'],
    );
    const again = await west.cli(['link', 'delete', 'east']);
    assertCliError(again, /east/);
    assert.equal(again.code, 4);
  });

  test('an unknown subcommand suggests the nearest one, as unknown commands do', async () => {
    for (const [args, nearest] of [
      [['link', 'crate'], 'create'],
      [['listener', 'lst'], 'list'],
      [['connector', 'delet'], 'delete'],
      [['token', 'craete'], 'create'],
      [['site', 'delte'], 'delete'],
      [['stauts'], 'status'],
    ] as const) {
      const result = await runCli(dir(), args);
      assertCliError(result, new RegExp(`\\(Did you mean ${nearest}\\?\\)`));
      assert.equal(result.code, 2, result.command);
    }
  });

  test("a subcommand's help lists the global options it honours, the kubernetes ones too", async () => {
    const { stdout } = await cliOk(dir(), ['link', 'create', '--help']);
    assert.match(stdout, /Global Options:/);
    for (const flag of [
      '--state-dir',
      '-o, --output',
      '--log-level',
      '--platform',
      '-n, --namespace',
      '--context',
    ]) {
      assert.ok(stdout.includes(flag), `${flag} in:\n${stdout}`);
    }
    const expose = await cliOk(dir(), ['expose', '--help']);
    for (const flag of ['--port', '--address', '--target-port', '--selector', 'deployment/']) {
      assert.ok(expose.stdout.includes(flag), `${flag} in:\n${expose.stdout}`);
    }
    const local = await runCli(dir(), ['expose', 'deployment/api', '--port', '80']);
    assertCliError(local, /are for --platform kubernetes/);
    assert.equal(local.code, 2);
  });

  test('version names the running router; debug dump - writes the dump to stdout', async () => {
    const west = net().site('west');
    const text = await cliOk(dir(), ['version']);
    assert.match(text.stdout, new RegExp(`^skiff \\S+\\nrouter \\S+ \\(pid ${west.pid}, `));
    const versions = await cliJson<{ router?: { pid: number } }>(dir(), ['version']);
    assert.equal(versions.router?.pid, west.pid);
    const dump = await cliOk(dir(), ['debug', 'dump', '-']);
    assert.equal(typeof JSON.parse(dump.stdout), 'object', 'the dump is JSON');
    assert.deepEqual(
      (await readdir(dir())).filter((f) => f === '-'),
      [],
      'no file named -',
    );
  });
});

describe('shell completion', { timeout: 60_000 }, () => {
  /** `skiff completion SHELL`, as a shell command (skiff is node + bin/skiff.js). */
  const generate = (shell: string) => `'${process.execPath}' '${skiffBin}' completion ${shell}`;

  /** Runs `argv` (a shell and its flags) with `script` as its last argument. */
  function shell(argv: readonly string[], script: string): Promise<CliResult> {
    return withTimeout(
      new Promise((resolve, reject) => {
        const child = spawn(argv[0]!, [...argv.slice(1), script], {
          env: childEnv(),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => {
          stdout += c;
        });
        child.stderr.setEncoding('utf8').on('data', (c: string) => {
          stderr += c;
        });
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr, command: argv[0]! }));
      }),
      20_000,
      `${argv[0]} with the completion script`,
    );
  }

  /** Runs a bash script that has loaded `skiff completion bash`. */
  const bash = (body: string) =>
    shell(
      ['bash', '--norc', '--noprofile', '-c'],
      `source <(${generate('bash')}) || exit 9\n${body}`,
    );

  /** What the completion offers for the words typed so far (the last one being completed). */
  async function complete(...words: string[]): Promise<string[]> {
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const result = await bash(
      `COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _skiff; printf '%s\\n' "\${COMPREPLY[@]}"`,
    );
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.split('\n').filter((w) => w !== '');
  }

  test('the bash script loads and registers a completion for skiff', async () => {
    const result = await bash('complete -p skiff');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'complete -F _skiff skiff');
  });

  test('it completes commands, subcommands with aliases, options and their choices', async () => {
    assert.deepEqual(await complete('skiff', 'li'), ['link', 'listener']);
    assert.deepEqual(await complete('skiff', 'link', ''), [
      'create',
      'delete',
      'update',
      'list',
      'status',
      'help',
    ]);
    assert.deepEqual(await complete('skiff', '--state-dir', '/tmp', 'connector', 'cr'), ['create']);
    assert.deepEqual(await complete('skiff', '-o', ''), ['text', 'json', 'yaml']);
    assert.deepEqual(await complete('skiff', 'listener', 'status', '--ig'), []);
    assert.deepEqual(await complete('skiff', 'link', 'delete', '--ig'), ['--ignore-not-found']);
    assert.deepEqual(await complete('skiff', 'completion', ''), ['bash', 'zsh', 'fish']);
    const globals = await complete('skiff', 'site', 'delete', '--');
    for (const option of ['--yes', '--ignore-not-found', '--state-dir', '--output', '--help']) {
      assert.ok(globals.includes(option), `${option} in ${globals.join(' ')}`);
    }
    assert.ok(globals.includes('--platform'), 'the kubernetes options are offered');
  });

  test('the zsh script registers with compinit and completes the same words', async () => {
    // compadd and _files stand in for zsh's own, which only work inside a completion widget;
    // like compadd, the stand-in keeps the words that start with the one being completed.
    const result = await shell(
      ['zsh', '-f', '-c'],
      `autoload -U compinit && compinit -u -D
source <(${generate('zsh')}) || exit 9
print -r -- "registered: $_comps[skiff]"
compadd() { [[ $1 == -- ]] && shift; local w; for w in "$@"; do [[ $w == \${words[CURRENT]}* ]] && print -r -- $w; done; return 0; }
_files() { print -r -- '(files)'; }
t() { words=("$@"); CURRENT=$#; print -r -- "[$*]"; _skiff; }
t skiff li
t skiff --state-dir /tmp connector ''
t skiff -o y
t skiff token create ''
`,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        'registered: _skiff',
        '[skiff li]',
        'link',
        'listener',
        '[skiff --state-dir /tmp connector ]',
        ...['create', 'delete', 'update', 'list', 'status', 'help'],
        '[skiff -o y]',
        'yaml',
        '[skiff token create ]',
        '(files)',
        '',
      ].join('\n'),
    );
  });

  test('the fish script loads and completes, with descriptions', async () => {
    const result = await shell(
      ['fish', '--no-config', '-c'],
      `${generate('fish')} | source; or exit 9
for line in 'skiff li' 'skiff link ' 'skiff -o ' 'skiff link delete --ig'
    echo "[$line]"
    complete -C "$line"
end
`,
    );
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    const after = (header: string) => {
      const from = lines.indexOf(header) + 1;
      const to = lines.findIndex((l, i) => i >= from && l.startsWith('['));
      return lines
        .slice(from, to === -1 ? undefined : to)
        .filter((l) => l !== '')
        .map((l) => l.split('\t')[0]);
    };
    assert.deepEqual(after('[skiff li]'), ['link', 'listener']);
    assert.deepEqual(after('[skiff link ]').sort(), [
      'create',
      'delete',
      'help',
      'list',
      'status',
      'update',
    ]);
    assert.deepEqual(after('[skiff -o ]').sort(), ['json', 'text', 'yaml']);
    assert.deepEqual(after('[skiff link delete --ig]'), ['--ignore-not-found']);
    assert.match(result.stdout, /^link\tlinks between this site and others$/m);
  });

  test('an unknown shell is refused', async () => {
    const bad = await runCli(undefined, ['completion', 'tcsh']);
    assertCliError(bad, /Allowed choices are bash, zsh, fish/);
    assert.equal(bad.code, 2);
  });
});

describe('site run and site delete', { timeout: 120_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 30_000 });

  /** `skiff site delete` on a pseudo-terminal (script(1)), answering `answer`. */
  function deleteOnTerminal(stateDir: string, answer: string): Promise<CliResult> {
    const command = `'${process.execPath}' '${skiffBin}' --state-dir '${stateDir}' site delete`;
    return new Promise((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        env: childEnv(),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr: '', command });
      });
      child.stdin.end(answer);
    });
  }

  test('site run without --init refuses a state dir that holds no site, and leaves nothing behind', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'skiff-it-typo-'));
    cleanup.add(() => rm(parent, { recursive: true, force: true }));
    const typo = join(parent, 'stat-dir');
    const result = await runCli(typo, ['site', 'run']);
    assertCliError(
      result,
      new RegExp(
        `^skiff: ${typo} holds no site \\(no ${typo}/site\\.json\\); create one with: skiff --state-dir ${typo} site create NAME, or start with: skiff site run --init$`,
      ),
    );
    assert.equal(result.code, 1);
    assert.deepEqual(await readdir(parent), [], 'no directory made for a mistyped --state-dir');
  });

  test('refused while the router runs, and without --yes when there is no terminal; nothing removed', async () => {
    const router = await RouterProcess.started({ name: 'doomed' });
    cleanup.add(() => router.dispose());
    const before = (await readdir(router.stateDir)).sort();
    const running = await router.cli(['site', 'delete', '--yes']);
    assertCliError(running, new RegExp(`is running \\(pid ${router.pid}\\); stop it first`));
    assert.equal(running.code, 1);
    await router.stop();
    const noTty = await router.cli(['site', 'delete']);
    assertCliError(noTty, /no terminal to confirm it on; to go ahead, add --yes/);
    assert.equal(noTty.code, 2);
    const declined = await deleteOnTerminal(router.stateDir, 'n\n');
    assert.equal(declined.code, 1, declined.stdout);
    assert.match(declined.stdout, /delete site doomed from .*\? \[y\/N\]/);
    assert.match(declined.stdout, /not confirmed; nothing was changed/);
    const after = (await readdir(router.stateDir)).filter((f) => f !== 'admin.sock').sort();
    assert.deepEqual(
      after,
      before.filter((f) => f !== 'admin.sock'),
      'nothing removed',
    );
    assert.ok(existsSync(join(router.stateDir, 'site.json')));
  });

  test('with --yes, or a yes on the terminal, it removes what skiff wrote; other files and their dir stay', async () => {
    const plain = await RouterProcess.create({ name: 'plain' });
    cleanup.add(() => plain.dispose());
    const gone = await plain.cli(['site', 'delete', '--yes']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal(gone.stdout, `site plain deleted: ${plain.stateDir} removed\n`);
    assert.equal(existsSync(plain.stateDir), false);
    const again = await plain.cli(['site', 'delete', '--yes']);
    assertCliError(again, /no site in/);
    assert.equal(again.code, 4);
    const ignored = await plain.cli(['site', 'delete', '--yes', '--ignore-not-found']);
    assert.equal(ignored.code, 0, ignored.stderr);
    assert.equal(ignored.stdout, `no site in ${plain.stateDir}; nothing deleted\n`);

    const shared = await RouterProcess.started({ name: 'shared' });
    cleanup.add(() => shared.dispose());
    await shared.cli(['expose', 'api', '--target', '127.0.0.1:9']);
    await shared.stop();
    await writeFile(join(shared.stateDir, 'notes.txt'), 'mine\n');
    const confirmed = await deleteOnTerminal(shared.stateDir, 'y\n');
    assert.equal(confirmed.code, 0, confirmed.stdout);
    assert.match(
      confirmed.stdout,
      /site shared deleted from .*; the directory stays, it holds files skiff did not write: notes\.txt/,
    );
    assert.deepEqual(await readdir(shared.stateDir), ['notes.txt']);
  });
});
