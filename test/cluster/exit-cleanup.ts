/**
 * Synchronous clean-up steps that must run even if a test forgets to stop its fixture, or
 * the runner stops the test process with a signal (Ctrl-C, a timeout): deleting network
 * namespaces and removing directories. After a signal the process dies of that same
 * signal, as test/helpers/children.ts does for child processes.
 */
const steps = new Set<() => void>();

function runAll(): void {
  for (const step of [...steps].reverse()) {
    steps.delete(step);
    try {
      step();
    } catch {
      // best effort: the process is going away
    }
  }
}

process.once('exit', runAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    runAll();
    process.kill(process.pid, signal);
  });
}

/** Runs `step` at process exit unless the returned function is called first (it runs the step then). */
export function atExit(step: () => void): () => void {
  steps.add(step);
  return () => {
    if (steps.delete(step)) step();
  };
}
