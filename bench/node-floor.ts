import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickPort as freePort } from '../test/helpers/ports.js';
import { routerLaunch } from '../test/helpers/router.js';
import { waitForPort } from './iperf.js';
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
  const ports = new Map<number, number>();
  const sides = { client: [] as string[], server: [] as string[] };
  for (const target of targets) {
    const tlsPort = await freePort();
    const plainPort = await freePort();
    ports.set(target, plainPort);
    sides.server.push(`${tlsPort}:${target}`);
    sides.client.push(`${plainPort}:${tlsPort}`);
  }
  const launch = routerLaunch();
  for (const role of ['server', 'client'] as const) {
    const args = [...launch.nodeArgs, script, role, dir, ...sides[role]];
    const env = { ...process.env, ...launch.env };
    children.push(spawn(process.execPath, args, { stdio: 'inherit', env }));
    for (const pair of sides[role]) await waitForPort(Number(pair.split(':')[0]));
  }
  return {
    portFor: (t: number) => ports.get(t)!,
    pids: () => children.map((c) => c.pid!),
    stop: async () => {
      for (const c of children) c.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
