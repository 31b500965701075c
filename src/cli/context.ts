/**
 * What every command needs from the global options, and the admin connection for the
 * commands that talk to a running router.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { AdminClient, AdminClientOptions } from '../admin/client.js';
import { resolveStateDir } from '../config/paths.js';
import { ErrorCode, SkiffError } from '../errors.js';
import type { OutputFormat } from './output.js';

/** The global options as commander parses them (see program.ts). */
interface GlobalOptions {
  stateDir?: string;
  platform: 'local' | 'kubernetes';
  namespace?: string;
  context?: string;
  output: OutputFormat;
  logLevel?: string;
}

export interface CliContext {
  /** Absolute. */
  stateDir: string;
  output: OutputFormat;
  /** `--log-level` when given; commands choose their own default. */
  logLevel: string | undefined;
}

/** The context of the command being run; refuses platforms this build cannot serve. */
export function contextOf(command: Command): CliContext {
  const opts = command.optsWithGlobals<GlobalOptions>();
  if (opts.platform === 'kubernetes') {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      'the kubernetes platform is not available yet; use --platform local',
    );
  }
  // Silently ignoring them would run the command against the local site instead.
  if (opts.namespace !== undefined || opts.context !== undefined) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      '-n/--namespace and --context are for --platform kubernetes, which is not available yet',
    );
  }
  return {
    stateDir: resolveStateDir(opts.stateDir),
    output: opts.output,
    logLevel: opts.logLevel,
  };
}

/** `site run`'s context: the one command that runs on the kubernetes platform so far. */
export type RunContext =
  | (CliContext & { platform: 'local' })
  | {
      platform: 'kubernetes';
      /** Absolute; where the admin socket goes. Absent: the router picks a run dir. */
      stateDir: string | undefined;
      output: OutputFormat;
      logLevel: string | undefined;
      namespace: string | undefined;
      context: string | undefined;
    };

export function runContextOf(command: Command): RunContext {
  const opts = command.optsWithGlobals<GlobalOptions>();
  if (opts.platform !== 'kubernetes') return { ...contextOf(command), platform: 'local' };
  return {
    platform: 'kubernetes',
    stateDir: opts.stateDir === undefined ? undefined : resolve(opts.stateDir),
    output: opts.output,
    logLevel: opts.logLevel,
    namespace: opts.namespace,
    context: opts.context,
  };
}

/**
 * Runs `fn` with a connection to the state dir's router, closed afterwards. The gRPC
 * stack is loaded here, on first use, so `version` and refused input answer quickly.
 */
export async function withAdmin<T>(
  ctx: CliContext,
  fn: (api: AdminClient) => Promise<T>,
  options?: AdminClientOptions,
): Promise<T> {
  const { connectAdmin } = await import('../admin/client.js');
  const api = connectAdmin(ctx.stateDir, options);
  try {
    return await fn(api);
  } finally {
    api.close();
  }
}
