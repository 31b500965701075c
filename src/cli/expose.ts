/** `expose ADDRESS --target HOST:PORT` and `unexpose ADDRESS`: `connector create | delete`. */
import type { Command } from 'commander';
import { connectorCreateCommand, connectorDeleteCommand } from './connector.js';
import { withIgnoreNotFound } from './verbs.js';

export function registerExpose(program: Command): void {
  connectorCreateCommand(
    program
      .command('expose')
      .description('make a service at this site reachable from every linked site'),
  );

  connectorDeleteCommand(
    withIgnoreNotFound(
      program.command('unexpose').description('remove the connector for an address at this site'),
    ),
  );
}
