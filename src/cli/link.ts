/** `link create | delete | status`: links from this site to others (and theirs to it). */
import type { Command } from 'commander';
import type { LinkInfo } from '../admin/api.js';
import { ErrorCode, SkiffError } from '../errors.js';
import { contextOf, withAdmin } from './context.js';
import { formatRtt, orDash, table } from './format.js';
import { printResult } from './output.js';
import { parseLinkCost, parseName, readTokenFile } from './validate.js';

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
      printResult(ctx.output, info, linkCreatedText);
    });

  link
    .command('delete')
    .description('end a link and revoke its credential')
    .argument('<NAME>', 'the link name, as `skiff link status` shows it')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      parseName(name, 'link name');
      await withAdmin(ctx, (api) => api.deleteLink(name));
      printResult(ctx.output, {}, () => `link ${name} deleted`);
    });

  link
    .command('status')
    .description('show the links, or one link')
    .argument('[NAME]', 'only this link')
    .action(async (name: string | undefined, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      if (name !== undefined) parseName(name, 'link name');
      const links = await withAdmin(ctx, (api) => api.listLinks());
      if (name === undefined) {
        printResult(ctx.output, links, linkTable);
        return;
      }
      const one = links.find((l) => l.name === name);
      if (!one) {
        throw new SkiffError(
          ErrorCode.NOT_FOUND,
          `no link named ${name}; see the links with: skiff link status`,
        );
      }
      printResult(ctx.output, one, (l) => linkTable([l]));
    });
}

/** NAME DIR PEER STATE COST RTT STREAMS ERROR, one row per link; "no links" when none. */
export function linkTable(links: readonly LinkInfo[]): string {
  return table(
    ['NAME', 'DIR', 'PEER', 'STATE', 'COST', 'RTT', 'STREAMS', 'ERROR'],
    links.map((l) => [
      l.name,
      l.direction,
      orDash(l.peerSiteName),
      l.state,
      String(l.cost),
      formatRtt(l.rttMs),
      String(l.streams),
      orDash(l.lastError),
    ]),
    'no links',
  );
}

function linkCreatedText(l: LinkInfo): string {
  const what =
    l.name === l.peerSiteName ? `link ${l.name}` : `link ${l.name} (to site ${l.peerSiteName})`;
  if (l.state === 'up') return `${what} is up`;
  const why = l.lastError ? `: ${l.lastError}` : '';
  return `${what} created, state ${l.state}${why}; it keeps retrying, see: skiff link status ${l.name}`;
}
