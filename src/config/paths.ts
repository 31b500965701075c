import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** `--state-dir`, else SKIFF_STATE_DIR, else $XDG_STATE_HOME/skiff (~/.local/state/skiff). */
export function resolveStateDir(flag?: string): string {
  const dir =
    flag ??
    process.env.SKIFF_STATE_DIR ??
    join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'skiff');
  return resolve(dir);
}

/** The router's admin API listens here (a unix socket, mode 0600). */
export function adminSocketPath(stateDir: string): string {
  return join(stateDir, 'admin.sock');
}

/** Optional overrides of config/settings.ts, read at `site run`. */
export function settingsPath(stateDir: string): string {
  return join(stateDir, 'settings.json');
}
