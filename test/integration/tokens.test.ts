/**
 * Proves token redemption refuses every bad token with its own one-line message and changes
 * nothing (no link, no saved record or key, the issuer's use count untouched): a tampered
 * token (uses edited, or one character of the secret), an expired token, a used-up token, a
 * file that is not a token (random text, a JSON file), and a token whose issuer cannot be
 * reached (which then still works once the issuer is back). Also proves use counting: two
 * redemptions racing on a one-use token give exactly one link, and `--uses 2` works twice.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { LinkInfo } from '../../src/admin/api.js';
import { assertCliError, type CliResult } from '../helpers/cli.js';
import { awaitLinkUp, createToken, SITE_A, type TwoSites, twoSites } from '../helpers/pair.js';
import { RouterProcess } from '../helpers/router.js';
import { Cleanup, pollUntil } from '../helpers/wait.js';

const TAMPERED = /tamper|signature/i;
const EXPIRED = /expired/i;
const USED = /used|no uses/i;
const UNREACHABLE = /reach/i;

/** The dialler's persisted link state and the issuer's view of links: what must not change. */
async function snapshot(issuer: RouterProcess, ...diallers: RouterProcess[]): Promise<string> {
  const listDir = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort();
  const parts: string[] = [];
  for (const router of [issuer, ...diallers]) {
    const links = (await router.links()).map((l) => `${l.name}/${l.direction}`).sort();
    const files = await Promise.all(
      ['links', 'grants', 'secrets'].map(
        async (d) => `${d}=${(await listDir(join(router.stateDir, d))).join(',')}`,
      ),
    );
    parts.push(`${router.name}: links=[${links.join(',')}] ${files.join(' ')}`);
  }
  return parts.join('\n');
}

describe('tokens: bad tokens are refused, uses are counted', { timeout: 240_000 }, () => {
  let sites: TwoSites | undefined;
  let c: RouterProcess | undefined;
  const cleanup = new Cleanup();
  /** One refusal message per kind of bad token, checked for distinctness at the end. */
  const messages = new Map<string, string>();

  before(
    async () => {
      sites = await twoSites({ settings: { backoffMaxMs: 1000 } });
      cleanup.add(() => sites!.dispose());
      c = await RouterProcess.started({ name: 'site-c', settings: { backoffMaxMs: 1000 } });
      cleanup.add(() => c!.dispose());
    },
    { timeout: 60_000 },
  );

  after(() => cleanup.run(), { timeout: 30_000 });

  /** Runs `link create FILE [...args]` at `dialler` and asserts it is refused without any change. */
  async function assertRefused(
    dialler: RouterProcess,
    file: string,
    pattern: RegExp,
    args: string[] = [],
  ) {
    const { a } = sites!;
    const before = await snapshot(a, dialler);
    const result = await dialler.cli(['link', 'create', file, ...args]);
    const line = assertCliError(result, pattern);
    assert.equal(await snapshot(a, dialler), before, 'a refused redemption changes nothing');
    return line;
  }

  /** Redeems `file` at `dialler` and awaits `link up` on both sides. */
  async function redeem(
    dialler: RouterProcess,
    file: string,
    args: string[] = [],
  ): Promise<LinkInfo> {
    const { a } = sites!;
    const sinceIssuer = a.mark();
    const sinceDialler = dialler.mark();
    const link = await dialler.json<LinkInfo>(['link', 'create', file, ...args]);
    await awaitLinkUp(a, dialler, link.name, { sinceIssuer, sinceDialler });
    return link;
  }

  /** Deletes the dialler's link and waits until the issuer no longer has it up. */
  async function unlink(dialler: RouterProcess, name = SITE_A): Promise<void> {
    const { a } = sites!;
    const result = await dialler.cli(['link', 'delete', name]);
    assert.equal(result.code, 0, `${result.command}: ${result.stderr}`);
    await pollUntil(`${SITE_A} to drop the link from ${dialler.name}`, async () =>
      (await a.links()).every((l) => l.name !== dialler.name || l.state !== 'up'),
    );
  }

  function stripPaths(line: string): string {
    return line.replace(/\/\S+/g, 'PATH');
  }

  test('a token with `uses:` edited, or one character of `secret:` changed, is refused as tampered', {
    timeout: 60_000,
  }, async () => {
    const { a, b, workDir } = sites!;
    const file = await createToken(a, workDir);
    const yaml = await readFile(file, 'utf8');

    assert.match(yaml, /^\s*uses:\s*1\s*$/m, 'the token shows its uses');
    const moreUses = join(workDir, 'tampered-uses.yaml');
    await writeFile(moreUses, yaml.replace(/^(\s*uses:\s*)1(\s*)$/m, '$15$2'));
    const line = await assertRefused(b, moreUses, TAMPERED);
    messages.set('tampered', line);

    const secret = /^\s*secret:\s*["']?([A-Za-z0-9+/_=-]{8,})/m.exec(yaml);
    assert.ok(secret, 'the token shows its secret');
    const value = secret[1]!;
    const i = Math.floor(value.length / 2);
    const flipped = value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
    const otherSecret = join(workDir, 'tampered-secret.yaml');
    await writeFile(otherSecret, yaml.replace(value, flipped));
    await assertRefused(b, otherSecret, TAMPERED);

    // The refusals did not spend the token's one use: the original still links.
    await redeem(b, file);
    await unlink(b);
  });

  test('a file that is not a token (random text, a JSON file) is refused as such', {
    timeout: 30_000,
  }, async () => {
    const { b, workDir } = sites!;
    const random = join(workDir, 'random.txt');
    await writeFile(random, `${randomBytes(300).toString('base64')}\n`);
    const line = await assertRefused(b, random, /token/i);
    assert.doesNotMatch(line, EXPIRED);
    assert.doesNotMatch(line, TAMPERED);
    messages.set('invalid', line);

    const jsonFile = join(workDir, 'token.json');
    await writeFile(jsonFile, `${JSON.stringify({ kind: 'token', secret: 'abc', uses: 1 })}\n`);
    const jsonLine = await assertRefused(b, jsonFile, /token/i);
    assert.doesNotMatch(jsonLine, EXPIRED);
  });

  test('an expired token (--expiry 1s) is refused as expired', { timeout: 30_000 }, async () => {
    const { a, b, workDir } = sites!;
    const file = await createToken(a, workDir, ['--expiry', '1s']);
    const expires = Date.now() + 1000; // at the latest: the router stamped it before we got here
    // Expiry is time itself: wait for the clock to pass it (with a margin for rounding).
    await delay(Math.max(0, expires + 1000 - Date.now()));
    messages.set('expired', await assertRefused(b, file, EXPIRED));
  });

  test('a one-use token, once redeemed, is refused at a second site as used up', {
    timeout: 60_000,
  }, async () => {
    const { a, b, workDir } = sites!;
    const file = await createToken(a, workDir, ['--uses', '1']);
    await redeem(b, file);
    messages.set('used', await assertRefused(c!, file, USED));
    await unlink(b);
  });

  test('two redemptions racing on a one-use token from two sites: exactly one succeeds', {
    timeout: 60_000,
  }, async () => {
    const { a, b, workDir } = sites!;
    const file = await createToken(a, workDir, ['--uses', '1']);
    const diallers = [b, c!];
    const marks = diallers.map((d) => d.mark());
    const sinceIssuer = a.mark();
    const results: CliResult[] = await Promise.all(
      diallers.map((d) => d.cli(['link', 'create', file])),
    );

    const winners = results.flatMap((r, i) => (r.code === 0 ? [i] : []));
    assert.equal(
      winners.length,
      1,
      `exactly one success: ${results.map((r) => `${r.code} ${r.stderr.trim()}`).join(' | ')}`,
    );
    const w = winners[0]!;
    const loser = diallers[1 - w]!;
    assertCliError(results[1 - w]!, USED);
    await awaitLinkUp(a, diallers[w]!, SITE_A, { sinceIssuer, sinceDialler: marks[w]! });

    assert.deepEqual(await loser.links(), [], `${loser.name} has no link`);
    const upAtIssuer = (await a.links()).filter((l) => l.direction === 'in' && l.state === 'up');
    assert.deepEqual(
      upAtIssuer.map((l) => l.name),
      [diallers[w]!.name],
    );
    await unlink(diallers[w]!);
  });

  test('a token with --uses 2 links two sites, then is used up', { timeout: 60_000 }, async () => {
    const { a, b, workDir } = sites!;
    const file = await createToken(a, workDir, ['--uses', '2']);
    await redeem(b, file);
    await redeem(c!, file);
    const upAtIssuer = (await a.links()).filter((l) => l.direction === 'in' && l.state === 'up');
    assert.deepEqual(upAtIssuer.map((l) => l.name).sort(), [b.name, c!.name].sort());

    await assertRefused(b, file, USED, ['--name', 'third-use']);
    await unlink(b);
    await unlink(c!);
  });

  test('a token whose issuer is down is refused as unreachable, saves nothing, and works once the issuer is back', {
    timeout: 60_000,
  }, async () => {
    const { a, b, workDir } = sites!;
    const file = await createToken(a, workDir);
    const linksBefore = await snapshot(b);
    const exit = await a.stop();
    assert.equal(exit.code, 0);

    const result = await b.cli(['link', 'create', file]);
    messages.set('unreachable', assertCliError(result, UNREACHABLE));
    assert.equal(await snapshot(b), linksBefore, 'nothing saved at the dialler');

    await a.start();
    await redeem(b, file);
    await unlink(b);
  });

  test('each kind of bad token has its own message', { timeout: 5_000 }, () => {
    const kinds = ['tampered', 'invalid', 'expired', 'used', 'unreachable'];
    for (const kind of kinds) assert.ok(messages.has(kind), `no message recorded for ${kind}`);
    const texts = kinds.map((k) => stripPaths(messages.get(k)!));
    assert.equal(
      new Set(texts).size,
      kinds.length,
      `messages are not distinct:\n${texts.join('\n')}`,
    );
  });
});
