/**
 * `connector create | delete | update | list`: where this site delivers streams for an
 * address. `expose` and `unexpose` (expose.ts) are the same create and delete under
 * friendlier names: one builder each, so they cannot drift apart.
 */
import type { Command } from 'commander';
import type { EndpointRequest } from '../admin/api.js';
import { parseSelector, parseTargetPort, parseWorkload } from '../config/targets.js';
import { ErrorCode, SkiffError } from '../errors.js';
import { contextOf, withAdmin } from './context.js';
import { printAction, printItem, printList } from './output.js';
import { waitForConnector } from './ready.js';
import { parseAddress, parseHostPort, parsePort } from './validate.js';
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
  selector?: string;
}

/** The arguments and flags of `expose` and `connector create`. */
export function connectorCreateCommand(command: Command): Command {
  return withReplace(
    addWaitOptions(
      command
        .argument(
          '<ADDRESS>',
          'the address other sites use; on kubernetes also deployment/NAME, statefulset/NAME or service/NAME',
        )
        .option('--target <HOST:PORT>', 'where the service listens'),
      'its target accepts connections',
      false,
    ),
    'connector',
  )
    .option('--port <P>', 'kubernetes: the port apps use for the address (and the pods port)')
    .option('--address <A>', 'kubernetes: the address, when not the workload name')
    .option('--target-port <T>', 'kubernetes: the pods port (number or name), when not --port')
    .option('--selector <K=V,...>', 'kubernetes: the pods with these labels take the streams')
    .action(createConnector);
}

async function createConnector(argument: string, flags: CreateFlags, command: Command) {
  const ctx = contextOf(command);
  const verb = command.parent?.name() === 'connector' ? 'connector create' : 'expose';
  const { address, ...target } = connectorTarget(ctx.platform, argument, flags, verb);
  const timeoutMs = waitTimeout(flags);
  const { item, action } = await withAdmin(ctx, async (api) => {
    const made = await creating(flags, (replace) => api.expose({ address, ...target, replace }));
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

/**
 * The address and target the command line gives: `ADDRESS --target HOST:PORT` anywhere; on
 * kubernetes also `deployment/NAME --port P [--address A] [--target-port T]` (and
 * statefulset/, service/) and `ADDRESS --selector K=V --port P [--target-port T]`.
 */
function connectorTarget(
  platform: 'local' | 'kubernetes',
  argument: string,
  flags: CreateFlags,
  verb: string,
): EndpointRequest {
  const podFlags = (['port', 'address', 'targetPort', 'selector'] as const).filter(
    (f) => flags[f] !== undefined,
  );
  const workload = argument.includes('/');
  if (platform !== 'kubernetes' && (workload || podFlags.length > 0)) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      'workload targets, --port, --address, --target-port and --selector are for --platform kubernetes; on the local platform use: skiff expose ADDRESS --target HOST:PORT',
    );
  }
  if (!workload && flags.selector === undefined) {
    if (podFlags.length > 0) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `--port, --address and --target-port go with deployment/NAME, statefulset/NAME, service/NAME or --selector; a host target is: skiff ${verb} ADDRESS --target HOST:PORT`,
      );
    }
    const address = parseAddress(argument);
    if (flags.target === undefined) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `say where the service listens: skiff ${verb} ${argument} --target HOST:PORT`,
      );
    }
    return { address, ...parseHostPort(flags.target, '--target') };
  }
  if (flags.target !== undefined) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      '--target is a host:port target; a workload or --selector target takes --port instead',
    );
  }
  if (flags.port === undefined) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `say which port apps use: skiff ${verb} ${argument} --port P`,
    );
  }
  const port = parsePort(flags.port, '--port');
  const targetPort =
    flags.targetPort === undefined
      ? {}
      : { targetPort: parseTargetPort(flags.targetPort, '--target-port') };
  if (workload) {
    if (flags.selector !== undefined) {
      throw new SkiffError(ErrorCode.INVALID_ARGUMENT, 'give a workload or --selector, not both');
    }
    const { kind, name } = parseWorkload(argument, 'the target');
    const address = parseAddress(flags.address ?? name);
    return { address, host: '', port, workload: `${kind}/${name}`, ...targetPort };
  }
  if (flags.address !== undefined) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `with --selector the address is the argument: skiff ${verb} ADDRESS --selector K=V --port P`,
    );
  }
  const selector = parseSelector(flags.selector!, '--selector').text;
  return { address: parseAddress(argument), host: '', port, selector, ...targetPort };
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
