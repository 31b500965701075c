import { spawn } from 'node:child_process';

/**
 * How a router runs best (docs/performance.md, "What mattered", has the measurements), the
 * one definition bin/skiff.js's shebang, `site run`'s re-exec, deploy/Dockerfile (which runs
 * bin/skiff.js as its executable) and the test harness follow:
 * - MALLOC_TRIM_THRESHOLD_: glibc keeps up to 32 MiB of freed heap instead of handing it
 *   back and faulting it in again (16,000-140,000 page faults per GiB carried -> ~100);
 *   glibc reads it at process start, so only a new process can take it;
 * - --single-threaded-gc: V8's parallel GC helpers cost more CPU than they save;
 * - --max-semi-space-size=2: scavenges rare enough that few messages wait on one (RTT p99);
 * - --expose-gc: for src/runtime/gc-pacer.ts.
 */
export const TUNED_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_TRIM_THRESHOLD_: '33554432',
});
export const TUNED_NODE_FLAGS: readonly string[] = Object.freeze([
  '--single-threaded-gc',
  '--max-semi-space-size=2',
  '--expose-gc',
]);

/** Set (to anything but "" or "0") to run `site run` in whatever runtime it was started with. */
export const NO_REEXEC_ENV = 'SKIFF_NO_REEXEC';

/** Set by the launcher in the re-executed router's environment: its pid. */
export const LAUNCHER_ENV = 'SKIFF_LAUNCHER_PID';

/**
 * True in a router whose launcher forwards it signals (reexecTuned): a terminal's Ctrl-C or
 * a cgroup's SIGTERM then reaches it twice, directly and forwarded.
 */
export function signalsForwarded(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[LAUNCHER_ENV] === String(process.ppid);
}

/** The first line bin/skiff.js must carry (a unit test compares them). */
export function shebangLine(): string {
  const env = Object.entries(TUNED_ENV).map(([k, v]) => `${k}=${v}`);
  return `#!/usr/bin/env -S ${[...env, 'node', ...TUNED_NODE_FLAGS].join(' ')}`;
}

/** True when this process has every flag and environment variable of the tuned runtime. */
export function isTuned(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return (
    TUNED_NODE_FLAGS.every((f) => execArgv.includes(f)) &&
    Object.entries(TUNED_ENV).every(([k, v]) => env[k] === v)
  );
}

/** True when `site run` should re-execute itself in the tuned runtime. */
export function needsReexec(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const optOut = env[NO_REEXEC_ENV];
  return (optOut === undefined || optOut === '' || optOut === '0') && !isTuned(execArgv, env);
}

const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * Runs this very command again (same node, script and arguments, stdio inherited) with the
 * tuned flags and environment, forwards SIGTERM, SIGINT and SIGHUP to it, and ends this
 * process as the child ended: its exit code, or its signal. A signal sent to the whole
 * process group or cgroup reaches the child twice; signalsForwarded() tells it so. Never
 * resolves.
 */
export function reexecTuned(): Promise<never> {
  const flags = [
    ...TUNED_NODE_FLAGS,
    ...process.execArgv.filter((f) => !TUNED_NODE_FLAGS.includes(f)),
  ];
  const child = spawn(process.execPath, [...flags, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: {
      ...process.env,
      ...TUNED_ENV,
      [NO_REEXEC_ENV]: '1',
      [LAUNCHER_ENV]: String(process.pid),
    },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED) process.on(signal, forward);
  return new Promise<never>(() => {
    child.once('error', (err) => {
      process.stderr.write(`skiff: cannot re-execute the router: ${err.message}\n`);
      process.exit(1);
    });
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward);
      if (signal !== null) process.kill(process.pid, signal);
      else process.exit(code ?? 1);
    });
  });
}
