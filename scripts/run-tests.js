#!/usr/bin/env node
// Runs the compiled tests with node's own runner: `node scripts/run-tests.js [unit|integration|...]`.
// Plain JS so it runs before anything is built; the test files themselves are TypeScript.
//
// With no argument, two lanes run side by side, each one file at a time: the files on the
// test control plane (kube/, cluster/, controlplane/), which mostly wait on the API server,
// the controllers and pod starts, and all the others. Each lane's lines are prefixed with
// its name; the run fails if either lane does. Serially the tests took 23.5 min on 2 cores;
// in two lanes 11 min (kube) beside 17 min (local), so two long local files that mostly wait
// (partitions of fixed length; 50 CLI starts on bad state) run in the kube lane.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(import.meta.dirname, '..', 'dist', 'test');
const only = process.argv[2];
const CONTROL_PLANE_DIRS = ['kube', 'cluster', 'controlplane'];
const BESIDE_CONTROL_PLANE = ['integration/partition.test.js', 'integration/state-files.test.js'];

function collect(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (entry.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = collect(only ? join(root, only) : root).sort();
if (files.length === 0) {
  process.stderr.write(`no test files under ${root}; run npm run build first\n`);
  process.exit(1);
}

const onControlPlane = (file) => {
  const path = relative(root, file).split(sep);
  return CONTROL_PLANE_DIRS.includes(path[0]) || BESIDE_CONTROL_PLANE.includes(path.join('/'));
};
const lanes = only
  ? [{ name: '', files }]
  : [
      { name: 'kube', files: files.filter(onControlPlane) },
      { name: 'local', files: files.filter((f) => !onControlPlane(f)) },
    ].filter((lane) => lane.files.length > 0);

const children = [];

/** One lane: node --test over its files, one at a time; resolves with its exit code and time. */
function run(lane) {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-reporter=spec', ...lane.files],
    { stdio: lanes.length === 1 ? 'inherit' : ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  if (lanes.length > 1) {
    for (const [stream, out] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      createInterface({ input: stream }).on('line', (line) =>
        out.write(`[${lane.name}] ${line}\n`),
      );
    }
  }
  return new Promise((resolve) => {
    child.on('close', (code, signal) =>
      resolve({ lane, code: code ?? 1, seconds: (Date.now() - started) / 1000 }),
    );
  });
}

// Stopped (Ctrl-C, CI's timeout): the lanes are stopped too, and their tests clean up.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill(signal);
  });
}

const results = await Promise.all(lanes.map(run));
if (lanes.length > 1) {
  for (const { lane, code, seconds } of results) {
    process.stdout.write(
      `lane ${lane.name}: ${lane.files.length} files, ${code === 0 ? 'passed' : `failed (exit ${code})`} in ${Math.round(seconds)} s\n`,
    );
  }
}
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
