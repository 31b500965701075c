import type { ChildProcess } from 'node:child_process';

/**
 * Child processes a test process started (routers, targets): none may outlive it, even if a
 * test forgets, or the runner stops it with a signal (Ctrl-C, a timeout), after which it dies
 * of that same signal.
 */
const live = new Set<ChildProcess>();

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

/** Kills `child` with this test process; forgotten once it exits on its own. */
export function killWithTestProcess(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}
