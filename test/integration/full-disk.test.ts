/**
 * Proves a full disk under the state dir (a small tmpfs mounted there) during `token create`
 * and `link create` gives one clear line, leaves nothing half-written (no record, no key,
 * no temporary file), and that the site works again once space is freed: a token is issued
 * and a link comes up. This held before the state validation work; the test keeps it so.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { assertCliError } from '../helpers/cli.js';
import { awaitLinkUp, createToken } from '../helpers/pair.js';
import { RouterProcess } from '../helpers/router.js';

const run = promisify(execFile);
const FULL = /disk of the state dir is full; nothing was changed, free some space/;

/** Every file under dir, relative, sorted (temporary files included). */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .filter((p) => p !== 'filler')
    .sort();
}

describe('a full state disk', { timeout: 120_000 }, () => {
  let a: RouterProcess;
  let b: RouterProcess;
  let work: string;
  let mounted = false;
  const filler = () => join(b.stateDir, 'filler');

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-full-'));
    a = await RouterProcess.started({ name: 'site-a' });
    b = await RouterProcess.create({ name: 'site-b' });
    const saved = join(work, 'saved');
    await cp(b.stateDir, saved, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', b.stateDir]);
    mounted = true;
    await cp(saved, b.stateDir, { recursive: true });
    await b.start();
  });
  after(async () => {
    await b?.kill();
    if (mounted) await run('umount', [b.stateDir]);
    await b?.dispose();
    await a?.dispose();
    await rm(work, { recursive: true, force: true });
  });

  async function fill(): Promise<void> {
    await writeFile(filler(), Buffer.alloc(4 * 1024 * 1024)).catch((err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ENOSPC');
    });
  }

  test('token create: one clear line, nothing written; works once space frees', async () => {
    const before = await tree(b.stateDir);
    await fill();
    const file = join(work, 'refused.yaml');
    const result = await b.cli(['token', 'create', file]);
    assertCliError(result, FULL);
    assert.deepEqual(await tree(b.stateDir), before, 'nothing half-written');
    await readdir(work).then((files) =>
      assert.ok(!files.includes('refused.yaml'), 'no token file'),
    );
    await unlink(filler());
    await createToken(b, work);
    assert.equal((await tree(b.stateDir)).filter((p) => p.startsWith('tokens/')).length, 1);
  });

  test('link create: one clear line, no link record or key; links once space frees', async () => {
    const token = await createToken(a, work);
    const before = await tree(b.stateDir);
    await fill();
    const result = await b.cli(['link', 'create', token]);
    assertCliError(result, FULL);
    assert.deepEqual(await tree(b.stateDir), before, 'nothing half-written');
    assert.deepEqual(await b.links(), []);
    await unlink(filler());
    const fresh = await createToken(a, work);
    const sinceIssuer = a.mark();
    const sinceDialler = b.mark();
    await b.json(['link', 'create', fresh]);
    // The refused attempt spent its token at a, whose grant keeps the name site-b: link
    // names are unique at each end, so a calls the new link site-b-2.
    await awaitLinkUp(a, b, 'site-a', { sinceIssuer, sinceDialler, issuerLinkName: 'site-b-2' });
    assert.equal((await b.links())[0]?.state, 'up');
  });
});
