/** `link create | delete | update | list`: links from this site to others (and theirs to it). */
import type { Command } from 'commander';
import type { LinkInfo } from '../admin/api.js';
import { checkTokenShape } from '../token/token.js';
import { contextOf, withAdmin } from './context.js';
import { printAction, renderItem, renderList, writeOut } from './output.js';
import { waitForLink } from './ready.js';
import { parseLinkCost, parseName, readTokenFile } from './validate.js';
import { type DeleteFlags, deleteVerb, deleting, listVerb, pickOne } from './verbs.js';
import {
  linkAbsentText,
  linkCreatedText,
  linkDeletedText,
  linkDetail,
  linkTable,
  linkUpdatedText,
} from './views/link.js';
import { addWaitOptions, type WaitFlags, waitTimeout } from './wait.js';
import { STEADY, watch } from './watch.js';

interface CreateFlags extends WaitFlags {
  name?: string;
  cost: string;
}

export function registerLink(program: Command): void {
  const link = program.command('link').description('links between this site and others');

  addWaitOptions(link.command('create'), 'the link is up', true)
    .description('redeem a token and link this site to the site that issued it')
    .argument('<FILE>', 'the token file, from `skiff token create` at the other site')
    .option('--name <NAME>', 'the link name (default: the issuing site name)')
    .option('--cost <N>', 'the path cost of this link; lower is preferred', '1')
    .action(async (file: string, flags: CreateFlags, command: Command) => {
      const ctx = contextOf(command);
      const name = flags.name === undefined ? undefined : parseName(flags.name, 'link name');
      const cost = parseLinkCost(flags.cost, '--cost');
      const timeoutMs = waitTimeout(flags);
      const token = await readTokenFile(file);
      checkTokenShape(token);
      const info = await withAdmin(ctx, async (api) => {
        const created = await api.createLink({
          token,
          cost,
          ...(name === undefined ? {} : { name }),
        });
        return timeoutMs === undefined ? created : waitForLink(ctx, api, created, timeoutMs);
      });
      printAction(ctx.output, 'Link', 'created', info, linkCreatedText);
    });

  deleteVerb(link, 'end a link and revoke its credential')
    .argument('<NAME>', 'the link name, as `skiff link list` shows it')
    .action(async (name: string, flags: DeleteFlags, command: Command) => {
      const ctx = contextOf(command);
      parseName(name, 'link name');
      if (await deleting(flags, () => withAdmin(ctx, (api) => api.deleteLink(name)))) {
        printAction(ctx.output, 'Link', 'deleted', { name }, linkDeletedText);
      } else {
        printAction(ctx.output, 'Link', 'unchanged', { name }, linkAbsentText);
      }
    });

  link
    .command('update')
    .description("change an outgoing link's cost; streams keep flowing, routes follow")
    .argument('<NAME>', 'the link name, as `skiff link list` shows it')
    .requiredOption('--cost <N>', 'the new path cost; lower is preferred')
    .action(async (name: string, flags: { cost: string }, command: Command) => {
      const ctx = contextOf(command);
      parseName(name, 'link name');
      const cost = parseLinkCost(flags.cost, '--cost');
      const item = await withAdmin(ctx, (api) => api.updateLink({ name, cost }));
      printAction(ctx.output, 'Link', 'updated', item, linkUpdatedText);
    });

  listVerb(link, 'show the links, or one link')
    .argument('[NAME]', 'only this link')
    .option('-w, --watch', 'print again whenever they change, until Ctrl-C')
    .action(async (name: string | undefined, flags: { watch?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      if (name !== undefined) parseName(name, 'link name');
      const render = (links: LinkInfo[]): string => {
        if (name === undefined) return renderList(ctx.output, 'Link', links, linkTable);
        const one = pickOne(
          links,
          (l) => l.name === name,
          `no link named ${name}; see the links with: skiff link list`,
        );
        return renderItem(ctx.output, 'Link', one, (l) => linkDetail(l));
      };
      if (flags.watch) {
        await withAdmin(ctx, (api) =>
          watch(ctx, { fetch: () => api.listLinks(), render, steady: STEADY.links }),
        );
        return;
      }
      writeOut(render(await withAdmin(ctx, (api) => api.listLinks())));
    });
}
