import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { routerLaunch } from '../test/helpers/router.js';
import { startOnFreePorts } from './listening.js';
import { makeCerts } from './stunnel.js';

/**
 * The Node floor as a bench path: two bench/node-relay.ts processes (client and server
 * side, as the stunnel pair), started with the routers' node flags and environment so the
 * two differ only in the code they run.
 */
export interface NodeFloor {
  /** The client side's plain port for each target port. */
  portFor(target: number): number;
  pids(): number[];
  stop(): Promise<void>;
}

export async function startNodeFloor(targets: number[]): Promise<NodeFloor> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-floor-'));
  makeCerts(dir);
  const script = join(import.meta.dirname, 'node-relay.js');
  const children: ChildProcess[] = [];
  const launch = routerLaunch();
  const stop = async () => {
    for (const c of children) c.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  /** One relay process listening on picked ports, the i-th forwarding to `to[i]`. */
  const side = async (role: 'server' | 'client', to: readonly number[]) => {
    const { ports, child } = await startOnFreePorts(`node-relay ${role}`, to.length, (ps) => {
      const pairs = ps.map((port, i) => `${port}:${to[i]}`);
      const args = [...launch.nodeArgs, script, role, dir, ...pairs];
      return spawn(process.execPath, args, {
        stdio: 'inherit',
        env: { ...process.env, ...launch.env },
      });
    });
    children.push(child);
    return ports;
  };
  try {
    const tlsPorts = await side('server', targets);
    const plainPorts = await side('client', tlsPorts);
    const ports = new Map(targets.map((target, i) => [target, plainPorts[i]!]));
    return {
      portFor: (t: number) => ports.get(t)!,
      pids: () => children.map((c) => c.pid!),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
