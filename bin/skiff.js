#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=33554432 node --single-threaded-gc --max-semi-space-size=2 --expose-gc
// How a router runs best (docs/performance.md, "What mattered", has the measurements):
// - MALLOC_TRIM_THRESHOLD_: glibc keeps up to 32 MiB of freed heap instead of handing it
//   back and faulting it in again (16,000-140,000 page faults per GiB carried -> ~100);
// - --single-threaded-gc: V8's parallel GC helpers cost more CPU than they save;
// - --max-semi-space-size=2: scavenges rare enough that few messages wait on one (RTT p99);
// - --expose-gc: for src/runtime/gc-pacer.ts.
// Whatever starts a router without this file as the executable sets the same
// (deploy/Dockerfile; test/helpers/router.ts reads this line).
import '../dist/src/cli/main.js';
