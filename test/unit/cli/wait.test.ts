/**
 * waitFor's contract where no router can show it: the deadline holds while a check hangs
 * (a router that stopped answering), the timeout names the last reason, an error thrown by
 * a check ends the wait at once, and a done check ends it without waiting out the timeout.
 * `-o json` off a terminal: no progress is written (the test's stderr stays clean).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CliContext } from '../../../src/cli/context.js';
import { waitFor } from '../../../src/cli/wait.js';
import { ErrorCode, isSkiffError, SkiffError } from '../../../src/errors.js';

const ctx: CliContext = {
  stateDir: '/nonexistent',
  output: 'json',
  logLevel: undefined,
  platform: 'local',
  namespace: undefined,
  kubeContext: undefined,
};

describe('waitFor', { timeout: 20_000 }, () => {
  test('times out at the deadline while a check hangs, naming the last reason', async () => {
    let calls = 0;
    const start = performance.now();
    await assert.rejects(
      waitFor(ctx, {
        what: 'the thing',
        timeoutMs: 600,
        hint: 'it stays',
        check: () => {
          calls++;
          return calls === 1
            ? Promise.resolve({ done: false, detail: 'still starting' })
            : new Promise(() => {});
        },
      }),
      (err) =>
        isSkiffError(err, ErrorCode.TIMEOUT) &&
        err.message === 'timed out after 600ms waiting for the thing: still starting; it stays' &&
        err.exitCode === 1,
    );
    const took = performance.now() - start;
    assert.ok(took >= 550 && took < 3000, `gave up after ${took} ms`);
    assert.equal(calls, 2, 'no new check while one hangs');
  });

  test('an error thrown by a check ends the wait with it', async () => {
    const gone = new SkiffError(ErrorCode.NOT_FOUND, 'deleted meanwhile');
    const start = performance.now();
    await assert.rejects(
      waitFor(ctx, { what: 'x', timeoutMs: 10_000, check: () => Promise.reject(gone) }),
      (err) => err === gone,
    );
    assert.ok(performance.now() - start < 2000);
  });

  test('returns once a check says done, checking again meanwhile', async () => {
    let calls = 0;
    const start = performance.now();
    await waitFor(ctx, {
      what: 'x',
      timeoutMs: 10_000,
      check: async () => ({ done: ++calls === 3, detail: `try ${calls}` }),
    });
    assert.equal(calls, 3);
    assert.ok(performance.now() - start < 5000);
  });
});
