/**
 * `connector create | delete | update | list`: where this site delivers streams for an
 * address. `expose` and `unexpose` (expose.ts) are the same create and delete under
 * friendlier names: one builder each, so they cannot drift apart.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { ErrorCode, SkiffError } from '../errors.js';
import { contextOf, withAdmin } from './context.js';
import { printAction, printItem, printList } from './output.js';
import { waitForConnector } from './ready.js';
import { parseAddress, parseHostPort } from './validate.js';
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
  connectorAbsentText,
  connectorDetail,
  connectorTable,
  connectorUpdatedText,
  exposedText,
  reexposedText,
  unexposedText,
} from './views/connector.js';
import { addWaitOptions, type WaitFlags, waitTimeout } from './wait.js';

interface CreateFlags extends ReplaceFlags, WaitFlags {
  target?: string;
  port?: string;
  address?: string;
  targetPort?: string;
}

/** The arguments and flags of `expose` and `connector create`. */
export function connectorCreateCommand(command: Command): Command {
  return (
    withReplace(
      addWaitOptions(
        command
          .argument('<ADDRESS>', 'the address other sites use')
          .option('--target <HOST:PORT>', 'where the service listens'),
        'its target accepts connections',
        false,
      ),
      'connector',
    )
      // The kubernetes platform's form (`expose deployment/NAME --port P`): parsed, so it
      // gets a clear refusal, but out of help until that platform works.
      .addOption(new Option('--port <P>', 'the service port').hideHelp())
      .addOption(
        new Option('--address <A>', 'the address, when not the deployment name').hideHelp(),
      )
      .addOption(new Option('--target-port <T>', 'the pods port, when not --port').hideHelp())
      .action(createConnector)
  );
}

async function createConnector(address: string, flags: CreateFlags, command: Command) {
  const ctx = contextOf(command);
  const kubeOnly = (['port', 'address', 'targetPort'] as const).find((f) => flags[f] !== undefined);
  if (address.startsWith('deployment/') || kubeOnly) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      'deployment targets, --port, --address and --target-port are for --platform kubernetes, which is not available yet; on the local platform use: skiff expose ADDRESS --target HOST:PORT',
    );
  }
  parseAddress(address);
  if (flags.target === undefined) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `say where the service listens: skiff ${command.parent?.name() === 'connector' ? 'connector create' : 'expose'} ${address} --target HOST:PORT`,
    );
  }
  const { host, port } = parseHostPort(flags.target, '--target');
  const timeoutMs = waitTimeout(flags);
  const { item, action } = await withAdmin(ctx, async (api) => {
    const made = await creating(flags, (replace) => api.expose({ address, host, port, replace }));
    if (timeoutMs === undefined) return made;
    return { ...made, item: await waitForConnector(ctx, api, made.item, timeoutMs) };
  });
  printAction(
    ctx.output,
    'Connector',
    action,
    item,
    action === 'created' ? exposedText : reexposedText,
  );
}

/** The argument and flags of `unexpose` and `connector delete`. */
export function connectorDeleteCommand(command: Command): Command {
  return command.argument('<ADDRESS>', 'the address').action(deleteConnector);
}

async function deleteConnector(address: string, flags: DeleteFlags, command: Command) {
  const ctx = contextOf(command);
  parseAddress(address);
  if (await deleting(flags, () => withAdmin(ctx, (api) => api.unexpose(address)))) {
    printAction(ctx.output, 'Connector', 'deleted', { address }, unexposedText);
  } else {
    printAction(ctx.output, 'Connector', 'unchanged', { address }, connectorAbsentText);
  }
}

export function registerConnector(program: Command): void {
  const connector = program
    .command('connector')
    .description('where this site delivers the streams for an address (expose, unexpose)');

  connectorCreateCommand(
    connector
      .command('create')
      .description('deliver streams for ADDRESS to a service at this site (same as expose)'),
  );

  connectorDeleteCommand(
    deleteVerb(connector, 'stop delivering streams for an address here (same as unexpose)'),
  );

  connector
    .command('update')
    .description('send the streams for an address to another target; open streams stay')
    .argument('<ADDRESS>', 'the address')
    .requiredOption('--target <HOST:PORT>', 'where the service listens now')
    .action(async (address: string, flags: { target: string }, command: Command) => {
      const ctx = contextOf(command);
      parseAddress(address);
      const { host, port } = parseHostPort(flags.target, '--target');
      const item = await withAdmin(ctx, (api) => api.updateConnector({ address, host, port }));
      printAction(ctx.output, 'Connector', 'updated', item, connectorUpdatedText);
    });

  listVerb(connector, 'show the connectors, or the one for an address')
    .argument('[ADDRESS]', 'only the connector for this address')
    .action(async (address: string | undefined, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      if (address !== undefined) parseAddress(address);
      const connectors = await withAdmin(ctx, (api) => api.listConnectors());
      if (address === undefined) {
        printList(ctx.output, 'Connector', connectors, connectorTable);
        return;
      }
      const one = pickOne(
        connectors,
        (c) => c.address === address,
        `${address} is not exposed at this site; see the connectors with: skiff connector list`,
      );
      printItem(ctx.output, 'Connector', one, (c) => connectorDetail(c));
    });
}
