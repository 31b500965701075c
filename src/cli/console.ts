/** `console [--open]`: the router's web console, switched on if needed, and its URL. */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { ErrorCode, SkiffError } from '../errors.js';
import { contextOf, withAdmin } from './context.js';
import { printItem } from './output.js';
import { parseHost, parsePort } from './validate.js';
import { consoleText } from './views/console.js';

interface ConsoleFlags {
  host?: string;
  port?: string;
  open?: boolean;
}

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description(
      "the router's web console: switch it on if needed and print its URL with its token",
    )
    .option('--host <HOST>', 'where it binds when it starts (default 127.0.0.1)')
    .option('--port <P>', 'its port when it starts (default any free one)')
    .option('--open', 'also open it in a browser (xdg-open)')
    .action(async (flags: ConsoleFlags, command: Command) => {
      const ctx = contextOf(command);
      const req = {
        ...(flags.host === undefined ? {} : { host: parseHost(flags.host, '--host') }),
        port: flags.port === undefined ? 0 : parsePort(flags.port, '--port'),
      };
      const info = await withAdmin(ctx, (api) => api.startConsole(req));
      printItem(ctx.output, 'Console', info, consoleText);
      if (flags.open === true) await openBrowser(info.url);
    });
}

/** Hands the URL to the desktop's opener and returns once it runs; the browser stays after skiff exits. */
function openBrowser(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' });
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT' ? 'xdg-open is not installed' : `xdg-open failed (${err.code})`;
      reject(
        new SkiffError(
          ErrorCode.INTERNAL,
          `cannot open a browser: ${why}; open the console's URL above yourself`,
          { cause: err },
        ),
      );
    });
  });
}
