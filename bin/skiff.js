#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=33554432 node --single-threaded-gc --max-semi-space-size=2 --expose-gc
// The tuned runtime of a router: src/runtime/tuned-runtime.ts defines it (and why) and a unit
// test checks this line against it; `site run` re-executes itself into it when started otherwise.
import '../dist/src/cli/main.js';
