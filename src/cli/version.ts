/**
 * `version`: skiff's own version, and the version of the router running for the state dir
 * when there is one. Works without a router and without a site (it then says none runs).
 */
import type { Command } from 'commander';
import { ErrorCode, isSkiffError } from '../errors.js';
import { VERSION } from '../version.js';
import { contextOf, withAdmin } from './context.js';
import { printItem } from './output.js';
import { versionText } from './views/version.js';

/** The Version item; `router` is absent when none runs for the state dir. */
interface Versions {
  version: string;
  stateDir: string;
  router?: { version: string; pid: number };
}

/** A version check must not hang on a router that accepts but does not answer. */
const ROUTER_TIMEOUT_MS = 5000;

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description("print the skiff version, and the router's when one runs for the state dir")
    .action(async (_flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      const versions: Versions = { version: VERSION, stateDir: ctx.stateDir };
      try {
        const status = await withAdmin(ctx, (api) => api.status(), {
          timeoutMs: ROUTER_TIMEOUT_MS,
        });
        versions.router = { version: status.version, pid: status.pid };
      } catch (err) {
        if (!isSkiffError(err, ErrorCode.NO_ROUTER)) throw err;
      }
      printItem(ctx.output, 'Version', versions, versionText);
    });
}
