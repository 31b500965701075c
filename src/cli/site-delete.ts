/**
 * `site delete [--yes]`: removes the site's state from the state dir. It stops nothing:
 * while a router runs for the state dir it refuses. It removes only what skiff wrote
 * there; a state dir that holds other files too is left in place with those files.
 */
import { readdir, rm, rmdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { adminSocketPath, settingsPath } from '../config/paths.js';
import { ErrorCode, SkiffError } from '../errors.js';
import { confirm } from './confirm.js';
import { type CliContext, contextOf } from './context.js';
import { printAction } from './output.js';
import { refuseIfRouterRuns } from './router-running.js';
import { type DeleteFlags, deleting, withIgnoreNotFound } from './verbs.js';
import {
  kubeSiteAbsentText,
  kubeSiteDeletedText,
  siteAbsentText,
  siteDeletedText,
} from './views/site.js';

interface Flags extends DeleteFlags {
  yes?: boolean;
}

/** What `-o json` prints; `left` lists the files skiff did not write, kept with the dir. */
interface SiteDeleted {
  name?: string;
  stateDir: string;
  left: string[];
}

export function registerSiteDelete(site: Command): void {
  withIgnoreNotFound(
    site
      .command('delete')
      .description(
        "remove the site (its identity, keys, links, listeners, connectors and tokens) from the state dir; refused while the site's router runs",
      )
      .option('--yes', 'do not ask for confirmation (needed without a terminal)'),
  ).action(async (flags: Flags, command: Command) => {
    const ctx = contextOf(command);
    if (ctx.platform === 'kubernetes') {
      const { deleteKubeSite } = await import('./kube-site-delete.js');
      const deleted = await deleting(flags, () => deleteKubeSite(ctx, flags.yes === true));
      const absent = { namespace: ctx.namespace ?? 'the current namespace' };
      if (deleted) printAction(ctx.output, 'Site', 'deleted', deleted.result, kubeSiteDeletedText);
      else printAction(ctx.output, 'Site', 'unchanged', absent, kubeSiteAbsentText);
      return;
    }
    const deleted = await deleting(flags, () => deleteSite(ctx, flags.yes === true));
    if (deleted) printAction(ctx.output, 'Site', 'deleted', deleted.result, siteDeletedText);
    else printAction(ctx.output, 'Site', 'unchanged', { stateDir: ctx.stateDir }, siteAbsentText);
  });
}

async function deleteSite(ctx: CliContext, yes: boolean): Promise<SiteDeleted> {
  const { FileStore } = await import('../state/file-store.js');
  const store = new FileStore(ctx.stateDir);
  const own = await store.ownEntries();
  if (own.length === 0) {
    throw new SkiffError(ErrorCode.NOT_FOUND, `no site in ${ctx.stateDir}; nothing to delete`);
  }
  await refuseIfRouterRuns(ctx);
  // A damaged record still goes: the name is only for the question and the result.
  const name = (await store.get('site', 'site').catch(() => undefined))?.name;
  const what = name === undefined ? `the site in ${ctx.stateDir}` : `site ${name}`;
  if (!yes) {
    await confirm(
      `delete ${what} from ${ctx.stateDir}: its identity, keys and links, for good?`,
      `deleting ${what}`,
    );
  }
  await store.removeAll();
  // The router's files: its settings, and a socket a killed router left behind.
  for (const path of [settingsPath(ctx.stateDir), adminSocketPath(ctx.stateDir)]) {
    await rm(path, { force: true });
  }
  const left = await rmdir(ctx.stateDir).then(
    () => [],
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') return readdir(ctx.stateDir);
      throw err;
    },
  );
  return { ...(name === undefined ? {} : { name }), stateDir: ctx.stateDir, left };
}
