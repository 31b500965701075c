#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=33554432 node --single-threaded-gc --max-semi-space-size=2 --expose-gc
// The tuned runtime of a router: src/runtime/tuned-runtime.ts defines it (and why) and a unit
// test checks this line against it; `site run` re-executes itself into it when started otherwise.
import module from 'node:module';

// Node 22.1+ keeps the compiled code of every module on disk (NODE_COMPILE_CACHE, else a
// node-compile-cache dir under the OS temp dir) and skips compiling it on later runs; Node 20
// has no such cache and runs without it (docs/performance.md, "CLI start-up"). Enabled before
// the CLI's modules load, hence the dynamic import.
module.enableCompileCache?.();
await import('../dist/src/cli/main.js');
