import type { RunAs } from './container-spec.js';

/** A directory bind-mounted into the container's view of the filesystem. */
export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** Everything that decides how one container's process is started. */
export interface LaunchPlan {
  /** The pod's network namespace. */
  netns: string;
  hostname: string;
  mounts: readonly Mount[];
  workingDir: string;
  runAs: RunAs;
  command: readonly string[];
}

/** Mount points that need not exist on this machine: they are made in the pod's own /run. */
export function inPrivateRun(target: string): boolean {
  return /^\/(var\/)?run(\/|$)/.test(target);
}

function quote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * The words to spawn for a container, as a runtime would set it up, without one:
 * `ip netns exec` puts it in the pod's network namespace and a private mount namespace
 * (it unshares one to bind the pod's /etc/netns/NS/hosts over /etc/hosts), `unshare --uts`
 * gives it its own hostname, and a shell there mounts a private tmpfs on /run (so
 * /var/run/secrets/kubernetes.io/serviceaccount can be made without touching this
 * machine's /run), bind-mounts the volumes (read-only where asked), then execs setpriv to
 * become the securityContext's user and drop privileges, which execs the command. Each step
 * execs the next, so the spawned pid is the container's process. Mounts are made with -n:
 * nothing is written to this machine's /run/mount.
 */
export function launchArgv(plan: LaunchPlan): string[] {
  const lines = ['set -e', 'mount -n -t tmpfs -o mode=0755 skiff-pod-run /run'];
  const mounts = [...plan.mounts].sort((a, b) => a.target.length - b.target.length);
  for (const mount of mounts) {
    const target = quote(mount.target);
    if (inPrivateRun(mount.target)) lines.push(`mkdir -p ${target}`);
    lines.push(`mount -n --bind ${quote(mount.source)} ${target}`);
    if (mount.readOnly) lines.push(`mount -n -o remount,bind,ro ${target}`);
  }
  lines.push(`hostname ${quote(plan.hostname)}`, `cd ${quote(plan.workingDir)}`);
  lines.push(`exec ${setpriv(plan.runAs).join(' ')} "$@"`);
  return [
    'ip',
    'netns',
    'exec',
    plan.netns,
    'unshare',
    '--uts',
    '/bin/sh',
    '-c',
    lines.join('\n'),
    'sh',
    ...plan.command,
  ];
}

function setpriv(runAs: RunAs): string[] {
  const words = ['setpriv'];
  if (runAs.uid !== 0 || runAs.gid !== 0 || runAs.groups.length > 0) {
    words.push(`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`);
    words.push(runAs.groups.length > 0 ? `--groups=${runAs.groups.join(',')}` : '--clear-groups');
  }
  if (runAs.noNewPrivs) words.push('--no-new-privs');
  if (runAs.dropAllCapabilities) words.push('--bounding-set=-all', '--inh-caps=-all');
  return words.length === 1 ? [] : [...words, '--'];
}
