#!/usr/bin/env node
// Runs the compiled tests with node's own runner: `node scripts/run-tests.js [unit|integration]`.
// Plain JS so it runs before anything is built; the test files themselves are TypeScript.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', 'dist', 'test');
const only = process.argv[2];

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
const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
