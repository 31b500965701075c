/**
 * CLI start-up (issue 10 point 7): hyperfine times `skiff --help`, `skiff version`,
 * `skiff status` and `skiff link list` against two real linked routers (one address exposed
 * and listened for, so status has something to show), each run as a user runs it:
 * bin/skiff.js as the executable. `node -e 0` (Node's own start-up) is the floor. Prints
 * median, mean ± σ, min and CPU per command, marks the targets (--help <= 150 ms, commands
 * that ask the router <= 250 ms) and writes bench/results/cli.json.
 *
 * `node dist/bench/cli.js [--runs N] [--quick]` alone, or as part of `npm run bench`. On a
 * shared machine wall time follows the load (printed): compare runs made back to back.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { skiffBin } from '../test/helpers/cli.js';
import { startEchoServer } from './conn-rate.js';
import { startRouterPair } from './router-pair.js';
import { ensureTools } from './tools.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

const runs = Number(option('--runs') ?? (process.argv.includes('--quick') ? 10 : 30));

interface Case {
  name: string;
  args: string[];
  /** Wall-time target of the median, ms. */
  targetMs?: number;
  /** Run against the router's state dir. */
  router: boolean;
}

const CASES: Case[] = [
  { name: 'skiff --help', args: ['--help'], targetMs: 150, router: false },
  { name: 'skiff version', args: ['version'], router: false },
  { name: 'skiff status', args: ['status'], targetMs: 250, router: true },
  { name: 'skiff link list', args: ['link', 'list'], targetMs: 250, router: true },
];

interface HyperfineResult {
  command: string;
  mean: number;
  stddev: number;
  median: number;
  min: number;
  user: number;
  system: number;
}

async function main(): Promise<void> {
  if (!ensureTools(say, ['hyperfine']).has('hyperfine')) {
    throw new Error('hyperfine is required (Debian: apt-get install hyperfine)');
  }
  const echo = await startEchoServer();
  const pair = await startRouterPair();
  const workDir = await mkdtemp(join(tmpdir(), 'skiff-bench-cli-'));
  try {
    await pair.expose('echo', echo.port);
    const stateDir = pair.b.stateDir;
    const commands: { name: string; line: string; targetMs?: number }[] = [
      { name: 'node -e 0', line: `${process.execPath} -e 0` },
    ];
    for (const c of CASES) {
      const argv = [skiffBin, ...(c.router ? ['--state-dir', stateDir] : []), ...c.args];
      // A command that fails would be timed failing: say so and leave it out.
      try {
        execFileSync(argv[0]!, argv.slice(1), { stdio: 'pipe', timeout: 30_000 });
      } catch (err) {
        const e = err as { status?: number; stderr?: Buffer };
        say(`${c.name}: skipped, exit ${e.status}: ${String(e.stderr ?? '').trim()}`);
        continue;
      }
      commands.push({
        name: c.name,
        line: argv.join(' '),
        ...(c.targetMs ? { targetMs: c.targetMs } : {}),
      });
    }
    const load = loadavg()[0]!.toFixed(1);
    say(`hyperfine: ${runs} runs each after 3 warm-ups, load average ${load} at the start`);
    const exported = join(workDir, 'hyperfine.json');
    execFileSync(
      'hyperfine',
      [
        '--shell=none',
        '--warmup',
        '3',
        '--runs',
        String(runs),
        '--style',
        'none',
        '--export-json',
        exported,
        ...commands.flatMap((c) => ['--command-name', c.name, c.line]),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const results = (JSON.parse(await readFile(exported, 'utf8')) as { results: HyperfineResult[] })
      .results;
    const ms = (s: number) => (s * 1000).toFixed(1);
    say(
      `${'command'.padEnd(18)} ${'median'.padStart(8)} ${'mean ± σ'.padStart(16)} ${'min'.padStart(8)} ${'user+sys'.padStart(9)}  target`,
    );
    const rows = results.map((r, i) => {
      const target = commands[i]!.targetMs;
      const verdict =
        target === undefined
          ? ''
          : `${r.median * 1000 <= target ? 'met' : 'MISSED'} (<= ${target} ms)`;
      say(
        `${commands[i]!.name.padEnd(18)} ${ms(r.median).padStart(6)}ms ${`${ms(r.mean)} ± ${ms(r.stddev)}`.padStart(14)}ms ${ms(r.min).padStart(6)}ms ${ms(r.user + r.system).padStart(7)}ms  ${verdict}`,
      );
      return {
        command: commands[i]!.name,
        medianMs: Number(ms(r.median)),
        meanMs: Number(ms(r.mean)),
        stddevMs: Number(ms(r.stddev)),
        minMs: Number(ms(r.min)),
        cpuMs: Number(ms(r.user + r.system)),
        ...(target === undefined ? {} : { targetMs: target }),
      };
    });
    say(`load average ${loadavg()[0]!.toFixed(1)} at the end`);
    const dir = join(import.meta.dirname, '..', '..', 'bench', 'results');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'cli.json'),
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, runs, load, rows }, null, 2)}\n`,
    );
  } finally {
    await pair.dispose();
    echo.server.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
