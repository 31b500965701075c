/** `listener create | delete | list`: local ports that lead to an address. */
import type { Command } from 'commander';
import { contextOf, withAdmin } from './context.js';
import { printAction, printItem, printList } from './output.js';
import { parseAddress, parseHost, parsePort } from './validate.js';
import { type DeleteFlags, deleteVerb, deleting, listVerb, pickOne } from './verbs.js';
import {
  listenerAbsentText,
  listenerCreatedText,
  listenerDeletedText,
  listenerTable,
} from './views/listener.js';

interface CreateFlags {
  port: string;
  host: string;
}

export function registerListener(program: Command): void {
  const listener = program.command('listener').description('local ports that lead to an address');

  listener
    .command('create')
    .description('listen on a local port and carry each connection to ADDRESS')
    .argument('<ADDRESS>', 'the address to reach')
    .requiredOption('--port <P>', 'the local port, 1-65535')
    .option('--host <HOST>', 'the local interface to bind', '127.0.0.1')
    .action(async (address: string, flags: CreateFlags, command: Command) => {
      const ctx = contextOf(command);
      parseAddress(address);
      const port = parsePort(flags.port, '--port');
      const host = parseHost(flags.host, '--host');
      const info = await withAdmin(ctx, (api) => api.createListener({ address, host, port }));
      printAction(ctx.output, 'Listener', 'created', info, listenerCreatedText);
    });

  deleteVerb(listener, 'stop listening for an address')
    .argument('<ADDRESS>', 'the address')
    .action(async (address: string, flags: DeleteFlags, command: Command) => {
      const ctx = contextOf(command);
      parseAddress(address);
      if (await deleting(flags, () => withAdmin(ctx, (api) => api.deleteListener(address)))) {
        printAction(ctx.output, 'Listener', 'deleted', { address }, listenerDeletedText);
      } else {
        printAction(ctx.output, 'Listener', 'unchanged', { address }, listenerAbsentText);
      }
    });

  listVerb(listener, 'show the listeners, or the one for an address')
    .argument('[ADDRESS]', 'only the listener for this address')
    .action(async (address: string | undefined, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      if (address !== undefined) parseAddress(address);
      const listeners = await withAdmin(ctx, (api) => api.listListeners());
      if (address === undefined) {
        printList(ctx.output, 'Listener', listeners, listenerTable);
        return;
      }
      const one = pickOne(
        listeners,
        (l) => l.address === address,
        `no listener for ${address}; see the listeners with: skiff listener list`,
      );
      printItem(ctx.output, 'Listener', one, (l) => listenerTable([l]));
    });
}
