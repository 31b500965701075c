/**
 * Preload for router processes (`NODE_OPTIONS=--import=<this file>`), since Node 20 refuses
 * --cpu-prof in NODE_OPTIONS: profiles the whole process with the inspector and writes
 * `<SKIFF_CPU_PROF_DIR>/router-<pid>.cpuprofile` when it exits.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.SKIFF_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.once('exit', () => {
    // The in-process session answers synchronously, so this completes before exit.
    session.post('Profiler.stop', (err, result) => {
      if (!err) {
        writeFileSync(
          join(dir, `router-${process.pid}.cpuprofile`),
          JSON.stringify(result.profile),
        );
      }
    });
  });
}
