/**
 * Proves a bad state file never loses keys and never stops the whole site (issue 9 point 8).
 * For each file of a state dir in turn (site.json, the CA and server keys, a grant, a token,
 * a connector, a listener, settings.json at the issuer; a link and its key at the dialler),
 * truncated, `null`, `{}`, of the wrong shape, or missing: the real router either refuses to
 * start with one `skiff:` line naming the file (the site's identity, its keys, settings), or
 * starts, names the file in `status` problems and in the log, and serves the rest (a hashed
 * stream through a listener whose records are intact). Never a stack trace, and no key file
 * changes. Before this change `site.json` = `null` created a new site over the keys.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { createToken, expose, linkSites, listen } from '../helpers/pair.js';
import { RouterProcess } from '../helpers/router.js';
import {
  connect,
  type EchoServer,
  patternDigest,
  receiveAll,
  sendPattern,
  startEchoServer,
} from '../helpers/tcp.js';

type Corruption = 'truncated' | 'null' | '{}' | 'wrong shape' | 'missing';
const corruptions: Corruption[] = ['truncated', 'null', '{}', 'wrong shape', 'missing'];

/** refuse: `site run` exits with one line naming the file; start: it runs and reports the file. */
type Expect = 'refuse' | 'report' | 'start';

interface FileCase {
  router: 'a' | 'b';
  /** Path in the state dir; resolved at run time for names only known then. */
  file: () => string;
  /** Valid JSON of the right kind with values out of bounds (or another PEM for a key). */
  wrongShape: () => string;
  expect: (c: Corruption) => Expect;
}

async function hashKeys(stateDir: string): Promise<Record<string, string>> {
  const dir = join(stateDir, 'secrets');
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    out[name] = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex');
  }
  return out;
}

async function only(dir: string): Promise<string> {
  const entries = (await readdir(dir)).filter((e) => !e.startsWith('.'));
  assert.equal(entries.length > 0, true, `${dir} is empty`);
  return entries[0]!;
}

describe('a bad state file', { timeout: 600_000 }, () => {
  let a: RouterProcess;
  let b: RouterProcess;
  let echo: EchoServer;
  let otherPort = 0;
  let templateA = '';
  let templateB = '';
  let grantFile = '';
  let tokenFile = '';
  let caCert = '';

  before(async () => {
    echo = await startEchoServer();
    a = await RouterProcess.started({ name: 'site-a', settings: { handshakeTimeoutMs: 5000 } });
    b = await RouterProcess.started({ name: 'site-b' });
    await linkSites(a, b, a.stateDir);
    await createToken(a, a.stateDir, ['--uses', '3']);
    await expose(a, 'echo', echo.port);
    await expose(a, 'other', echo.port);
    await listen(a, 'echo');
    otherPort = await listen(a, 'other');
    await b.stop();
    await a.stop();
    templateA = `${a.stateDir}.template`;
    templateB = `${b.stateDir}.template`;
    await cp(a.stateDir, templateA, { recursive: true });
    await cp(b.stateDir, templateB, { recursive: true });
    grantFile = `grants/${await only(join(templateA, 'grants'))}`;
    const tokens = (await readdir(join(templateA, 'tokens'))).sort();
    tokenFile = `tokens/${tokens[0]}`;
    caCert = JSON.parse(await readFile(join(templateA, 'site.json'), 'utf8')).caPem;
  });
  after(async () => {
    await a?.dispose();
    await b?.dispose();
    await rm(templateA, { recursive: true, force: true });
    await rm(templateB, { recursive: true, force: true });
    await echo?.close();
  });

  const record = (c: Corruption): Expect => (c === 'missing' ? 'start' : 'report');
  const cases: FileCase[] = [
    {
      router: 'a',
      file: () => 'site.json',
      wrongShape: () => '{"id": "x", "name": "A B", "linkPort": 70000}',
      expect: () => 'refuse',
    },
    { router: 'a', file: () => 'secrets/ca.pem', wrongShape: () => caCert, expect: () => 'refuse' },
    {
      router: 'a',
      file: () => 'secrets/server.pem',
      wrongShape: () => caCert,
      expect: () => 'refuse',
    },
    {
      router: 'a',
      file: () => grantFile,
      wrongShape: () => '{"serial": 5, "linkName": ""}',
      expect: record,
    },
    {
      router: 'a',
      file: () => tokenFile,
      wrongShape: () => '{"id": "zz", "usesLeft": -1}',
      expect: record,
    },
    {
      router: 'a',
      file: () => 'connectors/echo.json',
      wrongShape: () => '{"address": "echo", "host": "", "port": 0}',
      expect: record,
    },
    {
      router: 'a',
      file: () => 'listeners/echo.json',
      wrongShape: () => '{"address": "echo", "host": "not a host!!", "port": 70000}',
      expect: record,
    },
    {
      router: 'a',
      file: () => 'settings.json',
      wrongShape: () => '[1, 2]',
      expect: (c) => (c === 'missing' || c === '{}' ? 'start' : 'refuse'),
    },
    {
      router: 'b',
      file: () => 'links/site-a.json',
      wrongShape: () => '{"name": "site-a", "urls": [], "cost": -1}',
      expect: record,
    },
    {
      router: 'b',
      file: () => 'secrets/link-site-a.pem',
      wrongShape: () => caCert,
      expect: () => 'report',
    },
  ];

  for (const fileCase of cases) {
    for (const corruption of corruptions) {
      test(`${fileCase.router === 'a' ? 'issuer' : 'dialler'} #${cases.indexOf(fileCase)}: ${corruption}`, async (t) => {
        const router = fileCase.router === 'a' ? a : b;
        const file = fileCase.file();
        t.diagnostic(`${file}: ${corruption}`);
        await rm(router.stateDir, { recursive: true, force: true });
        await cp(fileCase.router === 'a' ? templateA : templateB, router.stateDir, {
          recursive: true,
        });
        const path = join(router.stateDir, file);
        const original = await readFile(path, 'utf8');
        if (corruption === 'missing') await unlink(path);
        else {
          const text =
            corruption === 'truncated'
              ? original.slice(0, Math.floor(original.length / 2))
              : corruption === 'wrong shape'
                ? fileCase.wrongShape()
                : corruption;
          await writeFile(path, text);
        }
        const keysBefore = await hashKeys(router.stateDir);
        const expect = fileCase.expect(corruption);
        if (expect === 'refuse') {
          const result = await runCli(router.stateDir, ['site', 'run'], { timeoutMs: 20_000 });
          assert.notEqual(result.code, 0, `${result.command} should refuse to start`);
          const lines = result.stderr.trim().split('\n');
          assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
          assert.match(lines[0]!, /^skiff: /);
          assert.ok(lines[0]!.includes(file), `the line names ${file}: ${lines[0]}`);
          assert.match(lines[0]!, /restore|fix|remove/, 'the line says what to do');
        } else {
          const since = router.mark();
          await router.start();
          try {
            const status = await router.status();
            if (expect === 'report') {
              assert.ok(
                status.problems.some((p) => p.where.endsWith(file)),
                `status names ${file}: ${JSON.stringify(status.problems)}`,
              );
              await router.waitForEvent(
                (e) => e.msg === 'bad state record skipped' && String(e.where).endsWith(file),
                { since },
              );
            } else {
              assert.deepEqual(status.problems, [], 'nothing to report');
            }
            if (fileCase.router === 'a') {
              // The rest of the site serves: a hashed stream through an intact listener.
              const sent = patternDigest(256 * 1024, 7);
              const socket = await connect(otherPort);
              const [, got] = await Promise.all([
                sendPattern(socket, 256 * 1024, 7),
                receiveAll(socket),
              ]);
              assert.deepEqual(got, sent, 'the echo arrives byte-exact');
            } else {
              assert.equal(status.listeners.length + status.connectors.length >= 0, true);
            }
          } finally {
            await router.stop();
          }
          assert.ok(
            !/\n\s+at /.test(router.tail()),
            `no stack trace in the log:\n${router.tail()}`,
          );
        }
        assert.deepEqual(await hashKeys(router.stateDir), keysBefore, 'no key file changed');
      });
    }
  }
});
