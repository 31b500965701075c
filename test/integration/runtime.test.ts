/**
 * The router runs in its tuned runtime (src/runtime/tuned-runtime.ts) however it is started:
 * as `bin/skiff.js site run` (the shebang) and as `node bin/skiff.js site run` (a systemd unit,
 * a process manager), which re-executes itself. The process that serves the admin socket
 * (the pid in status) is checked through /proc, and SIGTERM to the launched process stops
 * the router cleanly. SKIFF_NO_REEXEC=1 keeps the runtime it was given.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { NO_REEXEC_ENV, TUNED_ENV, TUNED_NODE_FLAGS } from '../../src/runtime/tuned-runtime.js';
import { type RouterOptions, RouterProcess } from '../helpers/router.js';

/** Nothing of the tuned runtime inherited from the test process. */
const clean = Object.fromEntries(Object.keys(TUNED_ENV).map((k) => [k, undefined]));

function runtimeOf(pid: number): { argv: string[]; env: Map<string, string> } {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = new Map(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  return { argv, env };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function served(
  launch: RouterOptions['launch'],
  env: NodeJS.ProcessEnv = {},
): Promise<{ router: RouterProcess; servingPid: number }> {
  const router = await RouterProcess.started({
    name: `rt-${launch}`,
    launch,
    env: { ...clean, ...env },
  });
  const servingPid = (await router.status()).pid;
  return { router, servingPid };
}

describe('the tuned runtime, however the router is started', { timeout: 90_000 }, () => {
  for (const launch of ['shebang', 'node'] as const) {
    const how = launch === 'shebang' ? 'bin/skiff.js site run' : 'node bin/skiff.js site run';
    test(`${how}: the serving process has the flags and environment; SIGTERM stops it cleanly`, async (t) => {
      const { router, servingPid } = await served(launch);
      try {
        const { argv, env } = runtimeOf(servingPid);
        t.diagnostic(`launched pid ${router.pid}, serving pid ${servingPid}: ${argv.join(' ')}`);
        for (const flag of TUNED_NODE_FLAGS)
          assert.ok(argv.includes(flag), `${flag} in ${argv.join(' ')}`);
        for (const [k, v] of Object.entries(TUNED_ENV)) assert.equal(env.get(k), v, k);
        assert.ok(argv.includes('site') && argv.includes('run'), 'the same command');
        // As a terminal's Ctrl-C or a cgroup's SIGTERM: the serving process is signalled
        // directly too, and must take the forwarded copy as the same signal (a drain, not
        // an immediate stop).
        if (servingPid !== router.pid) process.kill(servingPid, 'SIGTERM');
        const exit = await router.stop();
        assert.equal(router.eventsSince(0, (e) => e.msg === 'router stopping').length, 1);
        assert.equal(router.eventsSince(0, (e) => e.msg === 'router stopping now').length, 0);
        assert.ok(
          router.events.some((e) => e.msg === 'router drained'),
          'it drained',
        );
        assert.deepEqual(exit, { code: 0, signal: null }, 'the launched process exits 0');
        assert.equal(alive(servingPid), false, 'the serving process is gone too');
        assert.ok(
          router.events.some((e) => e.msg === 'router stopped'),
          'it stopped cleanly',
        );
      } finally {
        await router.dispose();
        // dispose() kills the launched process; a re-executed child is a process group of its own.
        if (alive(servingPid)) process.kill(servingPid, 'SIGKILL');
      }
    });
  }

  test(`${NO_REEXEC_ENV}=1: node bin/skiff.js runs as started`, async () => {
    const { router, servingPid } = await served('node', { [NO_REEXEC_ENV]: '1' });
    try {
      assert.equal(servingPid, router.pid, 'no second process');
      const { argv } = runtimeOf(servingPid);
      assert.ok(!argv.includes(TUNED_NODE_FLAGS[0]!), argv.join(' '));
      assert.equal((await router.stop()).code, 0);
    } finally {
      await router.dispose();
    }
  });
});
