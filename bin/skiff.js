#!/usr/bin/env -S node --single-threaded-gc --max-semi-space-size=1 --expose-gc
// --single-threaded-gc: V8's parallel GC helpers cost a router more CPU than they save
// (docs/performance.md: 1.8x single-stream throughput, half the CPU per GiB). Whatever
// starts a router without this file as the executable passes the same flags
// (deploy/Dockerfile; test/helpers/router.ts reads them from this line).
import '../dist/src/cli/main.js';
