import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OwnWrites } from '../../../src/kube/own-writes.js';
import { compareResourceVersions } from '../../../src/kube/resource-version.js';

describe('compareResourceVersions', () => {
  it('orders decimal resourceVersions by value, as KEP-5504 defines', () => {
    assert.ok(compareResourceVersions('9', '10')! < 0, 'by value, not as text');
    assert.ok(compareResourceVersions('120', '119')! > 0);
    assert.equal(compareResourceVersions('42', '42'), 0);
    assert.ok(compareResourceVersions('18446744073709551616', '18446744073709551615')! > 0);
  });

  it('calls anything else not comparable', () => {
    for (const [a, b] of [
      ['', '1'],
      ['01', '1'],
      ['1a', '2'],
      ['-1', '2'],
      ['2', 'abc'],
    ] as const) {
      assert.equal(compareResourceVersions(a, b), undefined, `${a} vs ${b}`);
    }
  });
});

describe('OwnWrites', () => {
  it('recognises its write and every older state, and news after it', () => {
    const own = new OwnWrites();
    own.wrote('skiff-connector-api', '100');
    assert.equal(own.isOwn('skiff-connector-api', '95', false), true, 'older: superseded');
    assert.equal(own.isOwn('skiff-connector-api', '100', false), true, 'its own');
    assert.equal(own.size, 0, 'forgotten once seen');
    assert.equal(own.isOwn('skiff-connector-api', '101', false), false, 'someone else');
    assert.equal(own.isOwn('skiff-connector-web', '5', false), false, 'never written');
  });

  it('takes a later state it never saw its write come back in for news', () => {
    const own = new OwnWrites();
    own.wrote('a', '100');
    assert.equal(own.isOwn('a', '130', true), false, 'deleted by someone after the write');
    assert.equal(own.size, 0);
  });

  it('skips everything up to the DELETED of its own delete, and nothing after', () => {
    const own = new OwnWrites();
    own.deleted('a');
    assert.equal(own.isOwn('a', '7', false), true, 'a change from before the delete');
    assert.equal(own.isOwn('a', '9', true), true, 'the delete itself');
    assert.equal(own.isOwn('a', '12', false), false, 'created again afterwards');
  });

  it('after a relist keeps only writes newer than the list', () => {
    const own = new OwnWrites();
    own.wrote('old', '50');
    own.wrote('new', '150');
    own.deleted('gone');
    own.relisted('100');
    assert.equal(own.size, 1);
    assert.equal(own.isOwn('new', '140', false), true, 'the list predates the write');
    assert.equal(own.isOwn('old', '50', false), false, 'covered by the list: forgotten');
  });

  it('without comparable versions recognises only its own write', () => {
    const own = new OwnWrites();
    own.wrote('a', 'x1');
    assert.equal(own.isOwn('a', 'x1', false), true);
    own.wrote('a', 'x1');
    assert.equal(own.isOwn('a', 'x0', false), false);
  });
});
