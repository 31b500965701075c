import { readFile } from 'node:fs/promises';
import { adminSocketPath, settingsPath } from '../config/paths.js';
import { resolveSettings, type Settings } from '../config/settings.js';
import { settingsFromText } from '../config/settings-text.js';
import { FileStore } from '../state/file-store.js';
import { NOTHING_TO_FOLLOW, type Platform, type SiteDefaults } from './platform.js';

/**
 * The local platform: state in files under the state dir (FileStore), settings in its
 * `settings.json`, the admin socket beside them. A site is created only with `--init`,
 * so a mistyped --state-dir is refused and leaves nothing behind.
 */
export function localPlatform(opts: { stateDir: string; create?: SiteDefaults }): Platform {
  const { stateDir } = opts;
  const store = new FileStore(stateDir);
  return {
    name: 'local',
    store,
    where: stateDir,
    adminSocket: adminSocketPath(stateDir),
    create: opts.create,
    noSiteHint: `create one with: skiff --state-dir ${stateDir} site create NAME, or start with: skiff site run --init`,
    // Only a site being created may make the directory.
    prepare: async () => {
      if (opts.create) await store.init();
    },
    loadSettings: () => loadSettingsFile(stateDir),
    follow: async () => NOTHING_TO_FOLLOW,
  };
}

async function loadSettingsFile(stateDir: string): Promise<Settings> {
  const path = settingsPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolveSettings();
    throw err;
  }
  return settingsFromText(text, path, 'fix it, or remove it to run with the defaults');
}
