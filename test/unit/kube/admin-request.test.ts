import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, isSkiffError } from '../../../src/errors.js';
import {
  ANSWER_KEY,
  ANSWERED_LABEL,
  answeredSecret,
  MAX_DOCUMENT_BYTES,
  PENDING_SELECTOR,
  REQUEST_KEY,
  readAnswer,
  readRequest,
  requestSecret,
} from '../../../src/kube/admin-request.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('admin request Secrets', () => {
  it('carry a request to the router and its answer back, the request gone', () => {
    const secret = requestSecret('skiff-request-createlink-0a1b2c3d4e', {
      op: 'CreateLink',
      args: { token: 'TOKEN TEXT', cost: 1 },
    });
    assert.deepEqual(secret.metadata?.labels, {
      'app.kubernetes.io/managed-by': 'skiff',
      'skiff.dev/kind': 'request',
    });
    assert.equal(
      PENDING_SELECTOR,
      `app.kubernetes.io/managed-by=skiff,skiff.dev/kind=request,!${ANSWERED_LABEL}`,
    );
    assert.deepEqual(readRequest(secret), {
      op: 'CreateLink',
      args: { token: 'TOKEN TEXT', cost: 1 },
    });
    assert.equal(readAnswer(secret), undefined, 'not answered yet');

    const answered = answeredSecret(
      secret,
      { ok: false, error: { code: ErrorCode.TOKEN_USED, message: 'used up' } },
      new Date('2026-01-02T03:04:05Z'),
    );
    assert.deepEqual(Object.keys(answered.data ?? {}), [ANSWER_KEY], 'the token is not kept');
    assert.equal(answered.metadata?.labels?.[ANSWERED_LABEL], 'true');
    assert.equal(
      answered.metadata?.annotations?.['skiff.dev/answered-at'],
      '2026-01-02T03:04:05.000Z',
    );
    assert.deepEqual(readAnswer(answered), {
      ok: false,
      error: { code: ErrorCode.TOKEN_USED, message: 'used up' },
    });
    const ok = answeredSecret(secret, { ok: true, value: { name: 'east' } }, new Date());
    assert.deepEqual(readAnswer(ok), { ok: true, value: { name: 'east' } });
  });

  it('refuses what the router must not run, and reads an odd answer as INTERNAL', () => {
    const withData = (data: Record<string, string>, labels: Record<string, string> = {}) => ({
      metadata: { name: 'skiff-request-x', labels },
      data,
    });
    for (const [data, pattern] of [
      [{}, /is missing/],
      [{ [REQUEST_KEY]: b64('not json') }, /is not JSON/],
      [{ [REQUEST_KEY]: b64('[1]') }, /is no object/],
      [{ [REQUEST_KEY]: b64('{"op":"Status","args":{}}') }, /op must be one of CreateToken, /],
      [{ [REQUEST_KEY]: b64('{"op":"DeleteLink","args":"x"}') }, /args must be an object/],
      [
        {
          [REQUEST_KEY]: b64(
            JSON.stringify({ op: 'CreateLink', args: { token: 'x'.repeat(MAX_DOCUMENT_BYTES) } }),
          ),
        },
        /too large/,
      ],
    ] as const) {
      assert.throws(
        () => readRequest(withData(data)),
        (err) => isSkiffError(err, ErrorCode.INVALID_ARGUMENT) && pattern.test(err.message),
      );
    }
    const odd = withData(
      { [ANSWER_KEY]: b64('{"ok":false,"error":{"code":"SKIFF_ERR_MADE_UP","message":7}}') },
      { [ANSWERED_LABEL]: 'true' },
    );
    assert.deepEqual(readAnswer(odd), {
      ok: false,
      error: { code: ErrorCode.INTERNAL, message: 'the router failed' },
    });
  });
});
