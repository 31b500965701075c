import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import { FileStore } from '../../../src/state/file-store.js';
import { type SampleRecords, sampleRecords } from '../../helpers/records.js';
import { storeContract } from './store-contract.js';

describe('FileStore', () => {
  let r: SampleRecords;
  before(async () => {
    r = await sampleRecords();
  });
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
    await store.put('site', 'site', r.site);
    await store.putSecret('ca', r.keyPem);
    assert.equal(await store.getSecret('ca'), r.keyPem);
    const siteFile = await stat(join(dir, 'state', 'site.json'));
    assert.equal(siteFile.mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'state', 'secrets', 'ca.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'state'))).mode & 0o777, 0o700);
  });

  it('leaves no temporary files behind and overwrites atomically', async () => {
    for (let i = 0; i < 20; i++) await store.put('token', 'ab12', { ...r.token, usesLeft: i });
    assert.equal((await store.get('token', 'ab12'))?.usesLeft, 19);
    assert.deepEqual(await readdir(join(dir, 'state', 'tokens')), ['ab12.json']);
  });

  it('reports a corrupt file with its path and refuses unsafe names', async () => {
    await store.put('link', 'east', r.link);
    await writeFile(join(dir, 'state', 'links', 'east.json'), '{"ok": tru');
    await assert.rejects(store.get('link', 'east'), (err) => {
      assert.ok(isSkiffError(err, 'SKIFF_ERR_STATE_CORRUPT'));
      assert.match(err.message, /links\/east\.json/);
      return true;
    });
    await assert.rejects(store.put('link', '../escape', r.link), (err) =>
      isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
    );
  });
});
