/**
 * The `skiff` command tree: global options as DESIGN.md lists them, one register function
 * per resource. Commander's own errors (unknown command, missing argument) become the
 * same one-line `skiff: ...` message as every other error, with a pointer to help.
 */
import { Command, Option } from 'commander';
import { registerDebug } from './debug.js';
import { registerExpose } from './expose.js';
import { registerLink } from './link.js';
import { registerListener } from './listener.js';
import { oneLine, writeErr, writeOut } from './output.js';
import { registerSite } from './site.js';
import { registerStatus } from './status.js';
import { registerToken } from './token.js';
import { registerVersion } from './version.js';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function buildProgram(): Command {
  const program = new Command('skiff')
    .description('a service interconnect: link sites, expose services, reach them by name')
    .addOption(
      new Option(
        '--state-dir <DIR>',
        'the site state directory (default ~/.local/state/skiff)',
      ).env('SKIFF_STATE_DIR'),
    )
    .addOption(
      new Option('--platform <PLATFORM>', 'where the site runs')
        .choices(['local', 'kubernetes'])
        .default('local'),
    )
    .option('-n, --namespace <NAMESPACE>', 'the Kubernetes namespace (kubernetes platform)')
    .option('--context <CONTEXT>', 'the kubeconfig context (kubernetes platform)')
    .addOption(
      new Option('-o, --output <FORMAT>', 'text for people, json for scripts')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addOption(
      new Option('--log-level <LEVEL>', 'router log level (default info for site run, else warn)')
        .choices(logLevels)
        .env('SKIFF_LOG_LEVEL'),
    )
    .exitOverride()
    .showSuggestionAfterError(true);

  registerSite(program);
  registerToken(program);
  registerLink(program);
  registerExpose(program);
  registerListener(program);
  registerStatus(program);
  registerDebug(program);
  registerVersion(program);

  configureOutput(program, 'skiff');
  return program;
}

/**
 * Every command writes through output.ts; its usage errors name its own help. Commander
 * prints the full help on stderr when a group (`skiff link`) is given no command; that is
 * the one stderr text starting "Usage:", and it becomes a one-line error too.
 */
function configureOutput(command: Command, path: string): void {
  const usageError = (message: string) => writeErr(`skiff: ${message} (see: ${path} --help)`);
  const choices = command.commands.map((c) => c.name()).join(', ');
  command.exitOverride().configureOutput({
    writeOut,
    writeErr: (text) =>
      text.startsWith('Usage:')
        ? usageError(`missing command; use one of: ${choices}`)
        : writeErr(text),
    outputError: (message) => usageError(oneLine(message.replace(/^error: /, ''))),
  });
  for (const sub of command.commands) configureOutput(sub, `${path} ${sub.name()}`);
}
