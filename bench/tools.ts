import { execFileSync, spawnSync } from 'node:child_process';

/** The Debian packages the baselines, load generators and timers come from, by command. */
const packages: Record<string, string> = {
  iperf3: 'iperf3',
  stunnel4: 'stunnel4',
  sockperf: 'sockperf',
  hyperfine: 'hyperfine',
};

/** What bench/run.ts needs; bench/cli.ts asks for hyperfine alone. */
const THROUGHPUT_TOOLS = ['iperf3', 'stunnel4', 'sockperf'];

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Makes sure the `wanted` commands (default iperf3, stunnel4 and sockperf) are installed: as
 * root with apt-get, they are installed when missing; otherwise the bench says how and runs
 * without them. Returns the commands available.
 */
export function ensureTools(
  say: (line: string) => void,
  wanted: readonly string[] = THROUGHPUT_TOOLS,
): Set<string> {
  const missing = wanted.filter((c) => !has(c));
  if (missing.length > 0 && process.getuid?.() === 0 && has('apt-get')) {
    const names = missing.map((c) => packages[c]!);
    say(`installing ${names.join(' ')} (apt-get install -y)...`);
    try {
      execFileSync('apt-get', ['install', '-y', ...names], {
        stdio: 'ignore',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch {
      execFileSync('apt-get', ['update'], { stdio: 'ignore' });
      execFileSync('apt-get', ['install', '-y', ...names], {
        stdio: 'ignore',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    }
  }
  const still = wanted.filter((c) => !has(c));
  if (still.length > 0) {
    say(
      `missing ${still.join(', ')}: install with \`sudo apt-get install -y ${still
        .map((c) => packages[c])
        .join(' ')}\`; their workloads or baselines are skipped`,
    );
  }
  return new Set(wanted.filter((c) => has(c)));
}
