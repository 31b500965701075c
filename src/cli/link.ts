/** `link create | delete | update | list`: links from this site to others (and theirs to it). */
import type { Command } from 'commander';
import { contextOf, withAdmin } from './context.js';
import { printAction, printItem, printList } from './output.js';
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

interface CreateFlags {
  name?: string;
  cost: string;
}

export function registerLink(program: Command): void {
  const link = program.command('link').description('links between this site and others');

  link
    .command('create')
    .description('redeem a token and link this site to the site that issued it')
    .argument('<FILE>', 'the token file, from `skiff token create` at the other site')
    .option('--name <NAME>', 'the link name (default: the issuing site name)')
    .option('--cost <N>', 'the path cost of this link; lower is preferred', '1')
    .action(async (file: string, flags: CreateFlags, command: Command) => {
      const ctx = contextOf(command);
      const name = flags.name === undefined ? undefined : parseName(flags.name, 'link name');
      const cost = parseLinkCost(flags.cost, '--cost');
      const token = await readTokenFile(file);
      const info = await withAdmin(ctx, (api) =>
        api.createLink({ token, cost, ...(name === undefined ? {} : { name }) }),
      );
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
    .action(async (name: string | undefined, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      if (name !== undefined) parseName(name, 'link name');
      const links = await withAdmin(ctx, (api) => api.listLinks());
      if (name === undefined) {
        printList(ctx.output, 'Link', links, linkTable);
        return;
      }
      const one = pickOne(
        links,
        (l) => l.name === name,
        `no link named ${name}; see the links with: skiff link list`,
      );
      printItem(ctx.output, 'Link', one, (l) => linkDetail(l));
    });
}
