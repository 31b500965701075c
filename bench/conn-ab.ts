/** `node dist/bench/conn-ab.js <baseDist> <newDist> [seconds] [rounds]`: connection rate A/B, interleaved. */
import { connectionRate, startEchoServer } from './conn-rate.js';
import type { RouterPair } from './router-pair.js';

const dirs = [process.argv[2]!, process.argv[3]!];
const seconds = Number(process.argv[4] ?? 3);
const rounds = Number(process.argv[5] ?? 3);
const echo = await startEchoServer();
const sides: { name: string; pair: RouterPair; port: number; results: string[] }[] = [];
try {
  for (const [i, dir] of dirs.entries()) {
    const mod = (await import(`${dir}/bench/router-pair.js`)) as typeof import('./router-pair.js');
    const pair = await mod.startRouterPair({});
    sides.push({
      name: i === 0 ? 'base' : 'new',
      pair,
      port: await pair.expose('echo', echo.port),
      results: [],
    });
  }
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
      const rate = await connectionRate(side.port, seconds);
      side.results.push(`${rate.perSecond.toFixed(0)}/s (${rate.failed} failed)`);
    }
  }
  for (const side of sides) process.stdout.write(`${side.name}: ${side.results.join(' | ')}\n`);
} finally {
  echo.server.close();
  for (const side of sides) await side.pair.dispose();
}
