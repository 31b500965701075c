/** `version`: works without a router and without a state dir. */
import type { Command } from 'commander';
import { VERSION } from '../version.js';
import type { OutputFormat } from './output.js';
import { printItem } from './output.js';
import { versionText } from './views/version.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the skiff version')
    .action((_flags: unknown, command: Command) => {
      const { output } = command.optsWithGlobals<{ output: OutputFormat }>();
      printItem(output, 'Version', { version: VERSION }, versionText);
    });
}
