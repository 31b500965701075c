import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatDuration, parseDuration } from '../../../src/config/duration.js';
import { defaultSettings, resolveSettings } from '../../../src/config/settings.js';
import { isSkiffError } from '../../../src/errors.js';

it('parses and formats durations, refusing junk with a usable message', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('15m'), 900_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(formatDuration(900_000), '15m');
  for (const bad of ['15', 'm', '-1s', '0s', '1w', '']) {
    assert.throws(
      () => parseDuration(bad),
      (err) => isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'),
    );
  }
});

it('merges overrides onto defaults and rejects unknown keys and bad values', () => {
  assert.deepEqual(resolveSettings(), defaultSettings);
  assert.equal(resolveSettings({ streamWindow: 262144 }).streamWindow, 262144);
  assert.throws(() => resolveSettings({ streamWindw: 1 }), /unknown setting "streamWindw"/);
  assert.throws(() => resolveSettings({ streamWindow: -5 }), /must be an integer/);
  assert.throws(
    () => resolveSettings({ maxFrameSize: 1 << 20, maxMessageSize: 1 << 20 }),
    /maxMessageSize/,
  );
});
