/** `listener create | delete | update | list`: local ports that lead to an address. */
import type { Command } from 'commander';
import { ErrorCode, SkiffError } from '../errors.js';
import { contextOf, withAdmin } from './context.js';
import { printAction, printItem, printList } from './output.js';
import { waitForListener } from './ready.js';
import { parseAddress, parseHost, parsePort } from './validate.js';
import {
  creating,
  type DeleteFlags,
  deleteVerb,
  deleting,
  listVerb,
  pickOne,
  type ReplaceFlags,
  withReplace,
} from './verbs.js';
import {
  listenerAbsentText,
  listenerCreatedText,
  listenerDeletedText,
  listenerDetail,
  listenerMovedText,
  listenerTable,
  listenerUpdatedText,
} from './views/listener.js';
import { addWaitOptions, type WaitFlags, waitTimeout } from './wait.js';

interface CreateFlags extends ReplaceFlags, WaitFlags {
  port: string;
  host: string;
}

interface UpdateFlags {
  port?: string;
  host?: string;
}

export function registerListener(program: Command): void {
  const listener = program.command('listener').description('local ports that lead to an address');

  withReplace(
    addWaitOptions(listener.command('create'), 'a reachable site serves ADDRESS', false)
      .description('listen on a local port and carry each connection to ADDRESS')
      .argument('<ADDRESS>', 'the address to reach')
      .requiredOption('--port <P>', 'the local port, 1-65535')
      .option('--host <HOST>', 'the local interface to bind', '127.0.0.1'),
    'listener',
  ).action(async (address: string, flags: CreateFlags, command: Command) => {
    const ctx = contextOf(command);
    parseAddress(address);
    const port = parsePort(flags.port, '--port');
    const host = parseHost(flags.host, '--host');
    const timeoutMs = waitTimeout(flags);
    const { item, action } = await withAdmin(ctx, async (api) => {
      const made = await creating(flags, (replace) =>
        api.createListener({ address, host, port, replace }),
      );
      if (timeoutMs === undefined) return made;
      return { ...made, item: await waitForListener(ctx, api, made.item, timeoutMs) };
    });
    printAction(
      ctx.output,
      'Listener',
      action,
      item,
      action === 'created' ? listenerCreatedText : listenerMovedText,
    );
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

  listener
    .command('update')
    .description('move a listener to another port or interface; open connections stay')
    .argument('<ADDRESS>', 'the address')
    .option('--port <P>', 'the new local port, 1-65535')
    .option('--host <HOST>', 'the new local interface')
    .action(async (address: string, flags: UpdateFlags, command: Command) => {
      const ctx = contextOf(command);
      parseAddress(address);
      if (flags.port === undefined && flags.host === undefined) {
        throw new SkiffError(
          ErrorCode.INVALID_ARGUMENT,
          `say what changes: skiff listener update ${address} --port P and/or --host HOST`,
        );
      }
      const change = {
        address,
        ...(flags.port === undefined ? {} : { port: parsePort(flags.port, '--port') }),
        ...(flags.host === undefined ? {} : { host: parseHost(flags.host, '--host') }),
      };
      const item = await withAdmin(ctx, (api) => api.updateListener(change));
      printAction(ctx.output, 'Listener', 'updated', item, listenerUpdatedText);
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
      printItem(ctx.output, 'Listener', one, (l) => listenerDetail(l));
    });
}
