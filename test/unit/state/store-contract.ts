import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import type { StateStore } from '../../../src/state/store.js';
import { type SampleRecords, sampleRecords } from '../../helpers/records.js';

const T = { timeout: 20_000 };

/**
 * What every StateStore promises, whatever keeps the state (files, a Kubernetes
 * namespace). `store()` gives the store of the current test (set up by the caller's
 * beforeEach).
 */
export function storeContract(store: () => StateStore): void {
  let r: SampleRecords;
  before(async () => {
    r = await sampleRecords();
  });

  it('round-trips records per kind, lists them sorted by name, deletes once', T, async () => {
    const s = store();
    const api = { ...r.listener, address: 'api', port: 2 };
    await s.put('listener', 'web', r.listener);
    await s.put('listener', 'api', api);
    await s.put('connector', 'db', r.connector);
    assert.deepEqual(await s.get('listener', 'web'), r.listener);
    assert.deepEqual(await s.list('listener'), [api, r.listener]);
    assert.deepEqual(await s.list('link'), []);
    assert.equal(await s.delete('listener', 'web'), true);
    assert.equal(await s.delete('listener', 'web'), false);
    assert.equal(await s.get('listener', 'web'), undefined);
    assert.equal((await s.list('listener')).length, 1);
  });

  it('keeps every kind exactly, and fields a newer version added', T, async () => {
    const s = store();
    const site = { ...r.site, linkBindPort: 9443, extra: { nested: [1, 'yes: no # text'] } };
    await s.put('site', 'site', site);
    assert.deepEqual(await s.get('site', 'site'), site);
    assert.deepEqual(await s.list('site'), [site]);
    for (const kind of ['token', 'link', 'grant'] as const) {
      const rec = r[kind];
      const name = kind === 'token' ? r.token.id : kind === 'grant' ? r.grant.serial : r.link.name;
      await s.put(kind, name, rec as never);
      assert.deepEqual(await s.get(kind, name), rec);
    }
  });

  it('overwrites records: the last put wins', T, async () => {
    const s = store();
    for (let i = 1; i <= 5; i++) await s.put('token', 'ab12', { ...r.token, usesLeft: i });
    assert.equal((await s.get('token', 'ab12'))?.usesLeft, 5);
    await Promise.all([
      s.put('grant', '4a5b', { ...r.grant, linkName: 'one' }),
      s.put('grant', '4a5b', { ...r.grant, linkName: 'two' }),
    ]);
    const got = await s.get('grant', '4a5b');
    assert.ok(got?.linkName === 'one' || got?.linkName === 'two', JSON.stringify(got));
    assert.equal((await s.list('grant')).length, 1);
  });

  it('keeps keys apart from records and never overwrites one unless asked', T, async () => {
    const s = store();
    assert.equal(await s.getSecret('ca'), undefined);
    assert.equal(await s.hasSecret('ca'), false);
    await s.putSecret('ca', r.keyPem);
    await assert.rejects(s.putSecret('ca', r.otherKeyPem), (err) => {
      assert.ok(isSkiffError(err, 'SKIFF_ERR_ALREADY_EXISTS'), String(err));
      assert.match(err.message, /never overwritten/);
      return true;
    });
    assert.equal(await s.getSecret('ca'), r.keyPem);
    await s.putSecret('ca', r.otherKeyPem, { replace: true });
    assert.equal(await s.getSecret('ca'), r.otherKeyPem);
    assert.deepEqual(await s.list('site'), []);
    assert.equal(await s.deleteSecret('ca'), true);
    assert.equal(await s.deleteSecret('ca'), false);
    assert.equal(await s.getSecret('ca'), undefined);
  });

  it('refuses to save a malformed record or key, and saves nothing', T, async () => {
    const s = store();
    const bad: [string, unknown][] = [
      ['listener', { ...r.listener, port: 0 }],
      ['listener', { ...r.listener, host: '' }],
      ['listener', { ...r.listener, address: 'other' }],
      ['connector', { ...r.connector, host: 'not a host!!', port: 70000 }],
      ['connector', {}],
      ['site', { ...r.site, caPem: '' }],
      ['link', null],
    ];
    for (const [kind, value] of bad) {
      const name =
        kind === 'site' ? 'site' : kind === 'connector' ? 'db' : kind === 'link' ? 'east' : 'web';
      await assert.rejects(s.put(kind as never, name, value as never), (err) =>
        isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
      );
    }
    await assert.rejects(s.putSecret('ca', ''), (err) =>
      isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
    );
    await assert.rejects(
      s.putSecret('ca', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n'),
      (err) => isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
    );
    assert.deepEqual(await s.list('listener'), []);
    assert.deepEqual(await s.list('connector'), []);
    assert.equal(await s.get('site', 'site'), undefined);
    assert.equal(await s.hasSecret('ca'), false);
  });

  it('refuses a name that could escape its place', T, async () => {
    const s = store();
    for (const name of ['../escape', 'a/b', '']) {
      await assert.rejects(s.put('link', name, r.link), (err) =>
        isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
      );
    }
  });
}
