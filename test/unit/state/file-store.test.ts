import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import { FileStore } from '../../../src/state/file-store.js';
import { storeContract } from './store-contract.js';

describe('FileStore', () => {
  let dir: string;
  let store: FileStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-store-'));
    store = new FileStore(join(dir, 'state'));
    await store.init();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  storeContract(() => store);

  it('keeps the site record at the top and secrets apart, mode 0600 in a 0700 dir', async () => {
    await store.put('site', 'site', { name: 'west' });
    await store.putSecret('ca', 'PEM');
    assert.equal(await store.getSecret('ca'), 'PEM');
    const siteFile = await stat(join(dir, 'state', 'site.json'));
    assert.equal(siteFile.mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'state', 'secrets', 'ca.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'state'))).mode & 0o777, 0o700);
  });

  it('leaves no temporary files behind and overwrites atomically', async () => {
    for (let i = 0; i < 20; i++) await store.put('token', 't1', { i });
    assert.deepEqual(await store.get('token', 't1'), { i: 19 });
    assert.deepEqual(await readdir(join(dir, 'state', 'tokens')), ['t1.json']);
  });

  it('reports a corrupt file with its path and refuses unsafe names', async () => {
    await store.put('link', 'east', { ok: true });
    await writeFile(join(dir, 'state', 'links', 'east.json'), '{"ok": tru');
    await assert.rejects(store.get('link', 'east'), (err) => {
      assert.ok(isSkiffError(err, 'SKIFF_ERR_STATE_CORRUPT'));
      assert.match(err.message, /links\/east\.json/);
      return true;
    });
    await assert.rejects(store.put('link', '../escape', {}), (err) =>
      isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
    );
  });
});
