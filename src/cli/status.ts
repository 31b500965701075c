/** `status` (this site) and `network status` (every site this one knows of). */
import type { Command } from 'commander';
import { contextOf, withAdmin } from './context.js';
import { printItem, renderItem } from './output.js';
import { networkText } from './views/network.js';
import { statusText } from './views/status.js';
import { STEADY, watch } from './watch.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("this site's router: links, listeners, connectors, addresses, streams")
    .option('-w, --watch', 'print again whenever it changes, until Ctrl-C')
    .action(async (flags: { watch?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      if (flags.watch) {
        await withAdmin(ctx, (api) =>
          watch(ctx, {
            fetch: () => api.status(),
            render: (s) => renderItem(ctx.output, 'Status', s, statusText),
            steady: STEADY.status,
          }),
        );
        return;
      }
      const status = await withAdmin(ctx, (api) => api.status());
      printItem(ctx.output, 'Status', status, statusText);
    });

  program
    .command('network')
    .description('the service network as this site sees it')
    .command('status')
    .description('every known site, the links between them, and where each address is served')
    .action(async (_flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      const network = await withAdmin(ctx, (api) => api.networkStatus());
      printItem(ctx.output, 'Network', network, networkText);
    });
}
