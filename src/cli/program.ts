/**
 * The `skiff` command tree: global options as DESIGN.md lists them, one register function
 * per resource. Commander's own errors (unknown command, missing argument) are reported
 * like every other error (output.ts printError), with a pointer to help.
 */
import { Command, Option } from 'commander';
import { ErrorCode, SkiffError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerCompletion } from './completion.js';
import { registerConnector } from './connector.js';
import { registerDebug } from './debug.js';
import { registerExpose } from './expose.js';
import { registerLink } from './link.js';
import { registerListener } from './listener.js';
import {
  OUTPUT_FORMATS,
  type OutputFormat,
  oneLine,
  printError,
  writeErr,
  writeOut,
} from './output.js';
import { registerSite } from './site.js';
import { registerStatus } from './status.js';
import { registerToken } from './token.js';
import { registerVersion } from './version.js';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** `format`: the -o value read from argv before parsing, for commander's own errors. */
export function buildProgram(format: OutputFormat = 'text'): Command {
  // Settings made here, before any subcommand exists, are inherited by every subcommand:
  // each one's --help lists the global options, and an unknown subcommand names the nearest.
  const program = new Command('skiff')
    .description('a service interconnect: link sites, expose services, reach them by name')
    .version(VERSION, '--version', 'print the skiff version')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addOption(
      new Option(
        '--state-dir <DIR>',
        'the site state directory (default ~/.local/state/skiff)',
      ).env('SKIFF_STATE_DIR'),
    )
    // The kubernetes platform's flags are parsed (so they get a clear refusal, see
    // context.ts) but kept out of help and completion until that platform works.
    .addOption(
      new Option('--platform <PLATFORM>', 'where the site runs')
        .choices(['local', 'kubernetes'])
        .default('local')
        .hideHelp(),
    )
    .addOption(new Option('-n, --namespace <NAMESPACE>', 'the Kubernetes namespace').hideHelp())
    .addOption(new Option('--context <CONTEXT>', 'the kubeconfig context').hideHelp())
    .addOption(
      new Option('-o, --output <FORMAT>', 'text for people, json or yaml for scripts')
        .choices(OUTPUT_FORMATS)
        .default('text'),
    )
    .addOption(
      new Option('--log-level <LEVEL>', 'router log level (default info for site run, else warn)')
        .choices(logLevels)
        .env('SKIFF_LOG_LEVEL'),
    );

  registerSite(program);
  registerToken(program);
  registerLink(program);
  registerExpose(program);
  registerConnector(program);
  registerListener(program);
  registerStatus(program);
  registerDebug(program);
  registerVersion(program);
  registerCompletion(program);

  configureOutput(program, 'skiff', format);
  return program;
}

/**
 * Every command writes through output.ts; its usage errors name its own help. Commander
 * prints the full help on stderr when a group (`skiff link`) is given no command; that is
 * the one stderr text starting "Usage:", and it becomes a one-line error too.
 */
function configureOutput(command: Command, path: string, format: OutputFormat): void {
  const usageError = (message: string) =>
    printError(
      format,
      new SkiffError(ErrorCode.INVALID_ARGUMENT, `${message} (see: ${path} --help)`),
    );
  const choices = command.commands.map((c) => c.name()).join(', ');
  command.exitOverride().configureOutput({
    writeOut,
    writeErr: (text) =>
      text.startsWith('Usage:')
        ? usageError(`missing command; use one of: ${choices}`)
        : writeErr(text),
    outputError: (message) => usageError(oneLine(message.replace(/^error: /, ''))),
  });
  for (const sub of command.commands) configureOutput(sub, `${path} ${sub.name()}`, format);
}
