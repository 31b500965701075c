import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  isTuned,
  NO_REEXEC_ENV,
  needsReexec,
  shebangLine,
  TUNED_ENV,
  TUNED_NODE_FLAGS,
} from '../../../src/runtime/tuned-runtime.js';

const root = new URL('../../../../', import.meta.url);

test("bin/skiff.js's shebang is the tuned runtime's definition", () => {
  const first = readFileSync(new URL('bin/skiff.js', root), 'utf8').split('\n', 1)[0];
  assert.equal(first, shebangLine());
});

test('the image runs bin/skiff.js as its executable and defines no flags of its own', () => {
  const dockerfile = readFileSync(new URL('deploy/Dockerfile', root), 'utf8');
  assert.match(dockerfile, /^ENTRYPOINT \["\/app\/bin\/skiff\.js"\]$/m);
  for (const flag of TUNED_NODE_FLAGS) assert.ok(!dockerfile.includes(flag), flag);
  for (const name of Object.keys(TUNED_ENV)) assert.ok(!dockerfile.includes(name), name);
});

test('a process is tuned only with every flag and variable; the opt-out skips the re-exec', () => {
  const env = { ...TUNED_ENV };
  assert.equal(isTuned(TUNED_NODE_FLAGS, env), true);
  assert.equal(isTuned(TUNED_NODE_FLAGS.slice(1), env), false);
  assert.equal(isTuned(TUNED_NODE_FLAGS, {}), false);
  assert.equal(needsReexec([], {}), true);
  assert.equal(needsReexec([], { [NO_REEXEC_ENV]: '1' }), false);
  assert.equal(needsReexec([], { [NO_REEXEC_ENV]: '0' }), true);
  assert.equal(needsReexec(['--inspect', ...TUNED_NODE_FLAGS], env), false);
});
