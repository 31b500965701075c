/** `expose ADDRESS --target HOST:PORT` and `unexpose ADDRESS`: connectors at this site. */
import type { Command } from 'commander';
import { ErrorCode, SkiffError } from '../errors.js';
import { contextOf, withAdmin } from './context.js';
import { printAction } from './output.js';
import { parseAddress, parseHostPort } from './validate.js';
import { exposedText, unexposedText } from './views/connector.js';

interface ExposeFlags {
  target?: string;
  port?: string;
  address?: string;
  targetPort?: string;
}

export function registerExpose(program: Command): void {
  program
    .command('expose')
    .description('make a service at this site reachable from every linked site')
    .argument('<ADDRESS>', 'the address other sites use (or deployment/NAME on kubernetes)')
    .option('--target <HOST:PORT>', 'where the service listens (local platform)')
    .option('--port <P>', 'the service port (kubernetes platform)')
    .option('--address <A>', 'the address, when not the deployment name (kubernetes platform)')
    .option('--target-port <T>', 'the pods port, when not --port (kubernetes platform)')
    .action(async (address: string, flags: ExposeFlags, command: Command) => {
      const ctx = contextOf(command);
      const kubeOnly = (['port', 'address', 'targetPort'] as const).find(
        (f) => flags[f] !== undefined,
      );
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
          `say where the service listens: skiff expose ${address} --target HOST:PORT`,
        );
      }
      const { host, port } = parseHostPort(flags.target, '--target');
      const connector = await withAdmin(ctx, (api) => api.expose({ address, host, port }));
      printAction(ctx.output, 'Connector', 'created', connector, exposedText);
    });

  program
    .command('unexpose')
    .description('remove the connector for an address at this site')
    .argument('<ADDRESS>', 'the address')
    .action(async (address: string, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      parseAddress(address);
      await withAdmin(ctx, (api) => api.unexpose(address));
      printAction(ctx.output, 'Connector', 'deleted', { address }, unexposedText);
    });
}
