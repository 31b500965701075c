import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROTOCOL_VERSION, parseControl, parseHello } from '../../../src/link/control-messages.js';

const hello = (fields: Record<string, unknown> = {}) => ({
  type: 'hello',
  siteId: 'ab'.repeat(16),
  siteName: 'site-b',
  version: PROTOCOL_VERSION,
  cost: 3,
  maxFrameSize: 65536,
  ...fields,
});

describe('CONTROL messages', () => {
  it('parses a HELLO into exactly its typed fields', () => {
    assert.deepEqual(parseHello(hello({ extra: 'dropped' })), {
      type: 'hello',
      siteId: 'ab'.repeat(16),
      siteName: 'site-b',
      version: PROTOCOL_VERSION,
      cost: 3,
      maxFrameSize: 65536,
    });
    assert.deepEqual(parseHello(hello({ cost: undefined, maxFrameSize: undefined })), {
      type: 'hello',
      siteId: 'ab'.repeat(16),
      siteName: 'site-b',
      version: PROTOCOL_VERSION,
    });
  });

  it('refuses out-of-bounds HELLO values with a reason that names the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ cost: -1 }, /cost -1 is not a whole number from 1 to 1000000/],
      [{ cost: 1e308 }, /cost 1e\+308/],
      [{ cost: 'abc' }, /cost "abc"/],
      [{ cost: 0 }, /cost 0/],
      [{ cost: 1.5 }, /cost 1.5/],
      [{ siteId: 'not-an-id' }, /siteId/],
      [{ siteId: 'AB'.repeat(16) }, /siteId/],
      [{ siteName: '' }, /siteName/],
      [{ siteName: 'x'.repeat(300) }, /siteName "x{39}\.\.\./],
      [{ version: 2 }, /version 2 is not supported/],
      [{ maxFrameSize: 10 }, /maxFrameSize 10/],
      [{ maxFrameSize: 2 ** 40 }, /maxFrameSize/],
    ];
    for (const [fields, reason] of cases) {
      assert.throws(
        () => parseHello(hello(fields)),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'SKIFF_ERR_PROTOCOL');
          assert.match(err.message, reason);
          return true;
        },
        JSON.stringify(fields),
      );
    }
  });

  it('bounds adverts messages, knows unlink, and ignores unknown types', () => {
    assert.deepEqual(parseControl({ type: 'adverts', adverts: [1, 2] }, 5), {
      type: 'adverts',
      adverts: [1, 2],
    });
    assert.throws(() => parseControl({ type: 'adverts', adverts: [1, 2, 3] }, 2), /at most 2/);
    assert.throws(() => parseControl({ type: 'adverts', adverts: 'x' }, 2), /at most 2/);
    assert.deepEqual(parseControl({ type: 'unlink', junk: 1 }, 2), { type: 'unlink' });
    assert.equal(parseControl({ type: 'future-thing' }, 2), undefined);
  });
});
