import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

/**
 * Where the test control plane's binaries come from and whether they are built: the
 * versions are the ones the wrapper Go modules under test/controlplane/go/ require (their
 * go.mod is the one place that names them), and the binaries are cached per version in
 * ~/.cache/skiff-controlplane/, so only the first build pays.
 */

export const GO_MODULES_DIR = join(repoRoot, 'test', 'controlplane', 'go');

export interface BinarySpec {
  name: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl';
  /** The wrapper module (a directory under GO_MODULES_DIR) that builds it. */
  module: 'etcd' | 'kubernetes';
  /** The Go package whose main it is. */
  pkg: string;
}

export const BINARIES: readonly BinarySpec[] = [
  { name: 'etcd', module: 'etcd', pkg: 'go.etcd.io/etcd/server/v3' },
  { name: 'kube-apiserver', module: 'kubernetes', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver' },
  {
    name: 'kube-controller-manager',
    module: 'kubernetes',
    pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager',
  },
  { name: 'kubectl', module: 'kubernetes', pkg: 'k8s.io/kubernetes/cmd/kubectl' },
];

/** The Go release both modules declare (`go 1.26.0`); an older go command cannot build them. */
export const GO_MIN_MINOR = 26;

export interface ControlPlaneVersions {
  kubernetes: string;
  etcd: string;
}

function requiredVersion(module: string, path: string): string {
  const goMod = readFileSync(join(GO_MODULES_DIR, module, 'go.mod'), 'utf8');
  const escaped = path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  // A require line, alone or in a block (go mod tidy marks a tool's module `// indirect`).
  const found = new RegExp(`^(?:require)?\\s+${escaped} (v\\d+\\.\\d+\\.\\d+)\\b`, 'm').exec(goMod);
  if (!found?.[1]) throw new Error(`${module}/go.mod requires no version of ${path}`);
  return found[1];
}

export function controlPlaneVersions(): ControlPlaneVersions {
  return {
    kubernetes: requiredVersion('kubernetes', 'k8s.io/kubernetes'),
    etcd: requiredVersion('etcd', 'go.etcd.io/etcd/server/v3'),
  };
}

/** The -ldflags for a binary: stripped, and for Kubernetes' the version `kubectl version` shows. */
export function ldflags(spec: BinarySpec, versions: ControlPlaneVersions): string {
  const flags = ['-s', '-w'];
  if (spec.module === 'kubernetes') {
    const [major, minor] = versions.kubernetes.slice(1).split('.');
    const vars = {
      gitVersion: versions.kubernetes,
      gitMajor: major,
      gitMinor: minor,
      gitTreeState: 'clean',
    };
    for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
      for (const [name, value] of Object.entries(vars)) flags.push(`-X ${pkg}.${name}=${value}`);
    }
  }
  return flags.join(' ');
}

/**
 * A digest of everything that decides the binaries' bytes besides the versions in the
 * directory name (the modules' go.mod and go.sum, the flags): a change rebuilds them.
 */
export function buildRecipe(versions: ControlPlaneVersions): string {
  const hash = createHash('sha256');
  for (const module of ['etcd', 'kubernetes']) {
    for (const file of ['go.mod', 'go.sum']) {
      hash.update(readFileSync(join(GO_MODULES_DIR, module, file)));
    }
  }
  for (const spec of BINARIES) hash.update(`${spec.name} ${spec.pkg} ${ldflags(spec, versions)}\n`);
  return hash.digest('hex').slice(0, 16);
}

export function cacheDir(versions: ControlPlaneVersions = controlPlaneVersions()): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(
    base,
    'skiff-controlplane',
    `${versions.kubernetes}-${versions.etcd}-${process.platform}-${process.arch}`,
  );
}

export const MANIFEST = 'manifest.json';

export interface Manifest {
  kubernetes: string;
  etcd: string;
  recipe: string;
  go: string;
  buildSeconds: number;
}

export interface ControlPlaneBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
}

export function binariesIn(dir: string): ControlPlaneBinaries {
  return {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubectl: join(dir, 'kubectl'),
  };
}

/**
 * The cached binaries if a finished build of these versions and this recipe is there (the
 * manifest is written last, so a build cut short never counts), else undefined.
 */
export function cachedBinaries(): ControlPlaneBinaries | undefined {
  const versions = controlPlaneVersions();
  const dir = cacheDir(versions);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
  if (manifest.recipe !== buildRecipe(versions)) return undefined;
  try {
    for (const spec of BINARIES) accessSync(join(dir, spec.name), constants.X_OK);
  } catch {
    return undefined;
  }
  return binariesIn(dir);
}

export interface GoToolchain {
  path: string;
  /** e.g. go1.26.8 */
  version: string;
}

/** Where Go's official tarball installs it, often not on a non-login shell's PATH. */
const GO_FALLBACK = '/usr/local/go/bin/go';

/** A go command new enough to build the modules, or why there is none. */
export function findGo(): GoToolchain | { missing: string } {
  let found: GoToolchain | undefined;
  for (const path of ['go', GO_FALLBACK]) {
    try {
      const version = execFileSync(path, ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
      found = { path, version };
      break;
    } catch {
      // not there: try the next
    }
  }
  if (!found) return { missing: 'no go command on PATH or at ' + GO_FALLBACK };
  const minor = Number(/^go1\.(\d+)/.exec(found.version)?.[1] ?? 0);
  if (minor < GO_MIN_MINOR) {
    return { missing: `${found.path} is ${found.version}; the modules need go1.${GO_MIN_MINOR}` };
  }
  return found;
}

/** What the control-plane tests say, and `npm run controlplane` prints, when Go is missing. */
export function needsGoMessage(why: string): string {
  return (
    `the control-plane tests need Go 1.${GO_MIN_MINOR} or later (${why}): they build etcd, ` +
    'kube-apiserver, kube-controller-manager and kubectl from the Go module proxy once ' +
    `(about 15 min on 2 cores) into ${cacheDir()}. Install Go from https://go.dev/dl/, ` +
    'then run `npm run controlplane` (npm test runs it too).'
  );
}
