/**
 * `completion bash|zsh|fish`: a shell completion script generated from the command tree
 * itself, so every command, alias and option is in it and none that help hides. The
 * script holds the tree (completion-scripts.ts): completing never starts skiff.
 */
import { Argument, type Command, type Help, type Option } from 'commander';
import { SHELLS, type Shell, script, type TreeNode, type ValueKind } from './completion-scripts.js';
import { writeOut } from './output.js';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<SHELL>', 'the shell').choices(SHELLS))
    .addHelpText(
      'after',
      '\nLoad it in the current shell:\n  bash: source <(skiff completion bash)\n  zsh:  source <(skiff completion zsh)   (after compinit)\n  fish: skiff completion fish | source',
    )
    .action((shell: Shell, _flags: unknown, command: Command) => {
      writeOut(script(shell, commandTree(root(command))));
    });
}

function root(command: Command): Command {
  let top = command;
  while (top.parent) top = top.parent;
  return top;
}

/**
 * Every visible command from `top` down, depth first, each with the options it takes (its
 * own and its ancestors'). Commander's implicit `help` command has no parent: it takes its
 * group's options and completes to its sibling commands.
 */
export function commandTree(top: Command): TreeNode[] {
  const nodes: TreeNode[] = [];
  const optionsOf = (command: Command): Option[] => {
    const help: Help = command.createHelp();
    return [...help.visibleOptions(command), ...help.visibleGlobalOptions(command)];
  };
  const visit = (command: Command, paths: string[], parent: Command | undefined): void => {
    const isHelp = parent !== undefined && command.parent !== parent;
    const subs = isHelp ? [] : command.createHelp().visibleCommands(command);
    nodes.push({
      paths,
      subs: subs.map((s) => ({
        name: s.name(),
        aliases: s.aliases(),
        description: s.description(),
      })),
      options: (isHelp ? optionsOf(parent) : optionsOf(command)).map(optionSpec),
      args: isHelp ? { choices: parent.commands.map((c) => c.name()) } : argumentsOf(command),
    });
    for (const sub of subs) {
      const names = [sub.name(), ...sub.aliases()];
      visit(
        sub,
        paths.flatMap((p) => names.map((n) => (p === '' ? n : `${p} ${n}`))),
        command,
      );
    }
  };
  visit(top, [''], undefined);
  return nodes;
}

function optionSpec(option: Option): TreeNode['options'][number] {
  const names = [option.short, option.long].filter((n): n is string => n !== undefined);
  const placeholder = /<([^>]+)>|\[([^\]]+)\]/.exec(option.flags);
  const value: ValueKind | undefined =
    placeholder === null
      ? undefined
      : option.argChoices
        ? { choices: option.argChoices }
        : isPath(placeholder[1] ?? placeholder[2] ?? '')
          ? 'files'
          : 'free';
  return { names, description: option.description, ...(value === undefined ? {} : { value }) };
}

/** What a leaf's arguments complete to: their choices, or files for a FILE; else nothing
 * (link and address names live in the router, which completing does not ask). */
function argumentsOf(command: Command): ValueKind | undefined {
  for (const arg of command.registeredArguments) {
    if (arg.argChoices) return { choices: arg.argChoices };
    if (isPath(arg.name())) return 'files';
  }
  return undefined;
}

function isPath(placeholder: string): boolean {
  return placeholder === 'FILE' || placeholder === 'DIR';
}
