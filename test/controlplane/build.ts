import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BINARIES,
  type BinarySpec,
  binariesIn,
  buildRecipe,
  type ControlPlaneBinaries,
  type ControlPlaneVersions,
  cacheDir,
  cachedBinaries,
  controlPlaneVersions,
  findGo,
  GO_MODULES_DIR,
  type GoToolchain,
  ldflags,
  MANIFEST,
  type Manifest,
  needsGoMessage,
} from './binaries.js';

/**
 * `npm run controlplane` (and npm test's pretest): makes sure the test control plane's
 * binaries are built, from the Go module proxy only, and cached by version. A warm cache is
 * a file read and four stats. Without Go it explains what is missing and exits 0, so
 * npm test still runs (the control-plane tests then say they need Go), except in CI, where
 * those tests must always run and a missing Go fails here.
 */

const PROGRESS_EVERY_MS = 30_000;

function say(line: string): void {
  process.stderr.write(`controlplane: ${line}\n`);
}

function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** Go's environment for the build: the public proxy and nothing else, go.sum as committed. */
function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOPROXY: 'https://proxy.golang.org',
    GOFLAGS: '-mod=readonly -buildvcs=false',
    GOWORK: 'off',
    CGO_ENABLED: '0',
  };
}

/**
 * Runs `go args` at the lowest CPU priority (the tests of others share the cores), calling
 * onLine for each line it writes to stderr; rejects with the last lines on failure.
 */
function runGo(
  go: GoToolchain,
  cwd: string,
  args: string[],
  onLine: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '19', go.path, ...args], {
      cwd,
      env: goEnv(),
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    const tail: string[] = [];
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        onLine(line);
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else {
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(new Error(`go ${args[0]} in ${cwd} failed (${how}):\n${tail.join('\n')}`));
      }
    });
  });
}

async function buildOne(
  go: GoToolchain,
  spec: BinarySpec,
  versions: ControlPlaneVersions,
  dir: string,
): Promise<void> {
  const started = Date.now();
  const partial = join(dir, `${spec.name}.partial`);
  let compiled = 0;
  say(`building ${spec.name} (${spec.pkg})`);
  const timer = setInterval(() => {
    say(`  ${spec.name}: ${compiled} packages compiled, ${formatDuration(Date.now() - started)}`);
  }, PROGRESS_EVERY_MS);
  try {
    // -v names each package as it is compiled (cached ones are not): the progress count.
    await runGo(
      go,
      join(GO_MODULES_DIR, spec.module),
      ['build', '-v', '-trimpath', `-ldflags=${ldflags(spec, versions)}`, '-o', partial, spec.pkg],
      () => {
        compiled++;
      },
    );
  } finally {
    clearInterval(timer);
  }
  renameSync(partial, join(dir, spec.name));
  const mb = (statSync(join(dir, spec.name)).size / 1e6).toFixed(0);
  say(
    `  ${spec.name}: built in ${formatDuration(Date.now() - started)} ` +
      `(${compiled} packages compiled, ${mb} MB)`,
  );
}

/** Builds every binary into the cache directory; the manifest, written last, marks it done. */
export async function buildBinaries(go: GoToolchain): Promise<ControlPlaneBinaries> {
  const versions = controlPlaneVersions();
  const dir = cacheDir(versions);
  const started = Date.now();
  say(
    `building Kubernetes ${versions.kubernetes} and etcd ${versions.etcd} with ${go.version} ` +
      `into ${dir} (from the Go module proxy; about 15 min on 2 cores the first time)`,
  );
  rmSync(join(dir, MANIFEST), { force: true });
  mkdirSync(dir, { recursive: true });
  for (const module of new Set(BINARIES.map((spec) => spec.module))) {
    const fetchStarted = Date.now();
    say(`fetching the ${module} module's dependencies`);
    await runGo(go, join(GO_MODULES_DIR, module), ['mod', 'download'], (line) => say(`  ${line}`));
    say(`  fetched in ${formatDuration(Date.now() - fetchStarted)}`);
  }
  for (const spec of BINARIES) await buildOne(go, spec, versions, dir);
  const buildSeconds = Math.round((Date.now() - started) / 1000);
  const manifest: Manifest = {
    kubernetes: versions.kubernetes,
    etcd: versions.etcd,
    recipe: buildRecipe(versions),
    go: go.version,
    buildSeconds,
  };
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  say(`all built in ${formatDuration(Date.now() - started)}`);
  return binariesIn(dir);
}

async function main(): Promise<number> {
  const started = performance.now();
  const cached = cachedBinaries();
  if (cached) {
    say(
      `ready in ${cached.dir} (cached; checked in ${(performance.now() - started).toFixed(0)} ms)`,
    );
    return 0;
  }
  const go = findGo();
  if ('missing' in go) {
    say(needsGoMessage(go.missing));
    // CI must run the control-plane tests, so there a missing Go is a failure.
    return process.env.CI === 'true' ? 1 : 0;
  }
  await buildBinaries(go);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
