/** `debug dump FILE|-`: everything useful for a bug report, from the running router. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ErrorCode, SkiffError } from '../errors.js';
import { contextOf, withAdmin } from './context.js';
import { printAction, writeOut } from './output.js';
import { checkNewFile, fileProblem } from './validate.js';
import { dumpWrittenText } from './views/debug.js';

export function registerDebug(program: Command): void {
  program
    .command('debug')
    .description('help for bug reports')
    .command('dump')
    .description("write the router's state (no keys or secrets) to a new file, as JSON")
    .argument('<FILE>', 'where to write it (must not exist), or - for stdout')
    .action(async (file: string, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      if (file === '-') {
        // The dump is the whole output: no "written" line to mix into a pipe.
        writeOut(await withAdmin(ctx, (api) => api.debugDump()));
        return;
      }
      const path = await checkNewFile(file, 'dump');
      const dump = await withAdmin(ctx, (api) => api.debugDump());
      try {
        await writeFile(path, dump, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        throw new SkiffError(ErrorCode.INTERNAL, `cannot write ${file}: ${fileProblem(err)}`, {
          cause: err,
        });
      }
      printAction(ctx.output, 'DebugDump', 'created', { file: path }, () => dumpWrittenText(file));
    });
}
