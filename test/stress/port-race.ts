/**
 * Stress for the tests' port picking (issue 10 point 8), not a timed test: runs the paths
 * that hand a picked port to a router (a router's first start on its link port, `listener
 * create`, a proxied site's router behind its proxy) round after round while another
 * process takes ports: a share of the picks right after the pick (the race, on purpose)
 * and random ports of the pool all along (a busy machine). Prints what it saw; exits 1 if
 * any path failed.
 *
 *   npx tsc -p tsconfig.json && node dist/test/stress/port-race.js [--rounds 10]
 *     [--grab 0.3] [--churn 200] [--attempts N] [--seed S]
 *
 * --attempts 1 is the old helper (one pick, one use): its failures are the flake.
 */
import { parseArgs } from 'node:util';
import { Network } from '../helpers/network.js';
import { expose, listen } from '../helpers/pair.js';
import { PortGrabber } from '../helpers/port-grabber.js';
import { PORT_ATTEMPTS, setPickHook, setPortAttempts } from '../helpers/ports.js';
import { seededRandom } from '../helpers/random.js';
import { RouterProcess } from '../helpers/router.js';
import { startEchoServer } from '../helpers/tcp.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    grab: { type: 'string', default: '0.3' },
    churn: { type: 'string', default: '200' },
    attempts: { type: 'string', default: String(PORT_ATTEMPTS) },
    seed: { type: 'string', default: String(Date.now() % 100_000) },
  },
});
const rounds = Number(values.rounds);
const grabShare = Number(values.grab);
const churnPerSecond = Number(values.churn);
const seed = Number(values.seed);
const out = (line: string) => process.stdout.write(`${line}\n`);

setPortAttempts(Number(values.attempts));
const rand = seededRandom(seed);
const grabber = PortGrabber.start();
grabber.churn(churnPerSecond, 1000);
let picks = 0;
let grabbed = 0;
setPickHook(async (port) => {
  picks++;
  if (rand() >= grabShare) return;
  grabbed++;
  await grabber.grab(port);
});

const LISTENERS = 3;
const failures: string[] = [];
let paths = 0;

/** Runs one path; a failure is counted and reported, not thrown. */
async function path(what: string, run: () => Promise<void>): Promise<void> {
  paths++;
  try {
    await run();
  } catch (err) {
    const line = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
    failures.push(`${what}: ${line}`);
  }
}

const echo = await startEchoServer();
const t0 = performance.now();
for (let round = 1; round <= rounds; round++) {
  const before = failures.length;
  let router: RouterProcess | undefined;
  await path('router start (link port)', async () => {
    router = await RouterProcess.started({ name: 'stress' });
  });
  if (router) {
    const r = router;
    for (let i = 0; i < LISTENERS; i++) {
      await expose(r, `svc-${i}`, echo.port); // served here, so the listener has a route
      await path('listener create', async () => {
        await listen(r, `svc-${i}`);
      });
    }
    await r.dispose();
  }
  await path('proxied site (bind port)', async () => {
    const n = await Network.start([{ name: 'proxied', proxied: true }]);
    await n.dispose();
  });
  out(`round ${round}/${rounds}: ${failures.length - before} failed`);
}
await echo.close();
setPickHook(undefined);
const churned = await grabber.stop();
const seconds = ((performance.now() - t0) / 1000).toFixed(0);
out(
  `seed ${seed}, attempts ${values.attempts}: ${paths} paths in ${seconds} s, ${picks} picks, ` +
    `${grabbed} taken right after the pick, ${churned} random ports taken meanwhile; ` +
    `${failures.length} failed`,
);
for (const failure of failures) out(`  ${failure}`);
process.exit(failures.length === 0 ? 0 : 1);
