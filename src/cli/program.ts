/**
 * The `skiff` command tree: global options as DESIGN.md lists them, one register function
 * per resource. Commander's own errors (unknown command, missing argument) are reported
 * like every other error (output.ts printError), with a pointer to help.
 */
import { Command, Option } from 'commander';
import { ErrorCode, SkiffError } from '../errors.js';
import { VERSION } from '../version.js';
import { asksTopLevelHelp, readHelpIndex, registerHelpIndex } from './help-index.js';
import { invokedCommand } from './invoked.js';
import {
  OUTPUT_FORMATS,
  type OutputFormat,
  oneLine,
  printError,
  writeErr,
  writeOut,
} from './output.js';

type Register = (program: Command) => void;

/**
 * The module that defines each top-level command, in help order. A run loads only the
 * module of the command it names (every module costs start-up time); `skiff --help` loads
 * none (help-index.ts); a run that names none otherwise, an unknown one, or one missing here
 * (`completion` walks the whole tree) loads all of them. test/unit/cli/program.test.ts
 * checks `names` against what each registers.
 */
export const COMMAND_MODULES: readonly {
  names: readonly string[];
  load: () => Promise<Register>;
}[] = [
  { names: ['site'], load: async () => (await import('./site.js')).registerSite },
  { names: ['token'], load: async () => (await import('./token.js')).registerToken },
  { names: ['link'], load: async () => (await import('./link.js')).registerLink },
  { names: ['expose', 'unexpose'], load: async () => (await import('./expose.js')).registerExpose },
  { names: ['connector'], load: async () => (await import('./connector.js')).registerConnector },
  { names: ['listener'], load: async () => (await import('./listener.js')).registerListener },
  { names: ['status', 'network'], load: async () => (await import('./status.js')).registerStatus },
  { names: ['console'], load: async () => (await import('./console.js')).registerConsole },
  { names: ['debug'], load: async () => (await import('./debug.js')).registerDebug },
  { names: ['version'], load: async () => (await import('./version.js')).registerVersion },
];

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * `format`: the -o value read from argv before parsing, for commander's own errors. `args`
 * (argv after node and the script): the command line to build the tree for; without it, or
 * when it names no known command, the whole tree.
 */
export async function buildProgram(
  format: OutputFormat = 'text',
  args?: readonly string[],
): Promise<Command> {
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
    .addOption(
      new Option('--platform <PLATFORM>', 'where the site runs')
        .choices(['local', 'kubernetes'])
        .default('local')
        .env('SKIFF_PLATFORM'),
    )
    .addOption(
      new Option(
        '-n, --namespace <NAMESPACE>',
        "kubernetes: the site's namespace (default: the kubeconfig context's)",
      ),
    )
    .addOption(
      new Option('--context <CONTEXT>', 'kubernetes: the kubeconfig context (default: current)'),
    )
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

  const name = args === undefined ? undefined : invokedCommand(program, args);
  const index =
    name === undefined && args !== undefined && asksTopLevelHelp(args)
      ? readHelpIndex()
      : undefined;
  if (index !== undefined) {
    registerHelpIndex(program, index);
    configureOutput(program, 'skiff', format);
    return program;
  }
  const only = COMMAND_MODULES.filter((m) => name !== undefined && m.names.includes(name));
  const modules = only.length > 0 ? only : COMMAND_MODULES;
  for (const register of await Promise.all(modules.map((m) => m.load()))) register(program);
  // Completion describes the whole tree, so it is there only when the whole tree is.
  if (only.length === 0) (await import('./completion.js')).registerCompletion(program);

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
