import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import type { StateStore } from '../../../src/state/store.js';

const T = { timeout: 20_000 };

/**
 * What every StateStore promises, whatever keeps the state (files, a Kubernetes
 * namespace). `store()` gives the store of the current test (set up by the caller's
 * beforeEach).
 */
export function storeContract(store: () => StateStore): void {
  it('round-trips records per kind, lists them sorted by name, deletes once', T, async () => {
    const s = store();
    await s.put('listener', 'web', { address: 'web', port: 1 });
    await s.put('listener', 'api', { address: 'api', port: 2, host: '127.0.0.1' });
    await s.put('connector', 'db', { address: 'db', target: '127.0.0.1:5432' });
    assert.deepEqual(await s.get('listener', 'web'), { address: 'web', port: 1 });
    assert.deepEqual(await s.list('listener'), [
      { address: 'api', port: 2, host: '127.0.0.1' },
      { address: 'web', port: 1 },
    ]);
    assert.deepEqual(await s.list('link'), []);
    assert.equal(await s.delete('listener', 'web'), true);
    assert.equal(await s.delete('listener', 'web'), false);
    assert.equal(await s.get('listener', 'web'), undefined);
    assert.equal((await s.list('listener')).length, 1);
  });

  it('keeps nested values, numbers, booleans and text exactly', T, async () => {
    const s = store();
    const record = {
      name: 'west',
      port: 8443,
      linkAccess: false,
      ratio: 0.25,
      hosts: ['a.example', '127.0.0.1'],
      caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      nested: { empty: {}, list: [], nothing: null, text: 'yes: no # not a comment' },
    };
    await s.put('site', 'site', record);
    assert.deepEqual(await s.get('site', 'site'), record);
    assert.deepEqual(await s.list('site'), [record]);
  });

  it('overwrites: the last put wins', T, async () => {
    const s = store();
    for (let i = 0; i < 5; i++) await s.put('token', 't1', { i });
    assert.deepEqual(await s.get('token', 't1'), { i: 4 });
    await Promise.all([s.put('grant', 'g1', { n: 1 }), s.put('grant', 'g1', { n: 2 })]);
    const got = await s.get<{ n: number }>('grant', 'g1');
    assert.ok(got?.n === 1 || got?.n === 2, `one of the racing writes, got ${JSON.stringify(got)}`);
    assert.equal((await s.list('grant')).length, 1);
  });

  it('keeps secrets apart from records', T, async () => {
    const s = store();
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
    assert.equal(await s.getSecret('ca'), undefined);
    await s.putSecret('ca', pem);
    await s.putSecret('ca', pem.replace('MIIE', 'MIIF'));
    assert.equal(await s.getSecret('ca'), pem.replace('MIIE', 'MIIF'));
    assert.deepEqual(await s.list('site'), []);
    assert.equal(await s.deleteSecret('ca'), true);
    assert.equal(await s.deleteSecret('ca'), false);
    assert.equal(await s.getSecret('ca'), undefined);
  });

  it('refuses a name that could escape its place', T, async () => {
    const s = store();
    for (const name of ['../escape', 'a/b', '']) {
      await assert.rejects(s.put('link', name, {}), (err) =>
        isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
      );
    }
  });
}
