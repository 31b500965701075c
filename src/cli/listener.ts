/** `listener create | delete | list`: local ports that lead to an address. */
import type { Command } from 'commander';
import type { ListenerInfo } from '../admin/api.js';
import { contextOf, withAdmin } from './context.js';
import { hostPort, orDash, table } from './format.js';
import { printResult } from './output.js';
import { parseAddress, parseHost, parsePort } from './validate.js';

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
      printResult(ctx.output, info, listenerCreatedText);
    });

  listener
    .command('delete')
    .description('stop listening for an address')
    .argument('<ADDRESS>', 'the address')
    .action(async (address: string, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      parseAddress(address);
      await withAdmin(ctx, (api) => api.deleteListener(address));
      printResult(ctx.output, {}, () => `listener for ${address} deleted`);
    });

  listener
    .command('list')
    .description('show the listeners')
    .action(async (_flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      const listeners = await withAdmin(ctx, (api) => api.listListeners());
      printResult(ctx.output, listeners, listenerTable);
    });
}

/** ADDRESS LISTEN STATE STREAMS ERROR, one row per listener; "no listeners" when none. */
export function listenerTable(listeners: readonly ListenerInfo[]): string {
  return table(
    ['ADDRESS', 'LISTEN', 'STATE', 'STREAMS', 'ERROR'],
    listeners.map((l) => [
      l.address,
      hostPort(l.host, l.port),
      l.state,
      String(l.activeStreams),
      orDash(l.error),
    ]),
    'no listeners',
  );
}

function listenerCreatedText(l: ListenerInfo): string {
  const where = hostPort(l.host, l.port);
  if (l.state === 'bound') return `listening on ${where} for ${l.address}`;
  return `listener for ${l.address} on ${where} created, state ${l.state}: ${l.error ?? 'unknown error'}`;
}
