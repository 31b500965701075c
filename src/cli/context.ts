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
  /**
   * kubernetes: the admin verbs act on the namespace's objects through the user's
   * kubeconfig (kube-admin.ts, decision 0024) instead of a router's admin socket.
   */
  platform: 'local' | 'kubernetes';
  /** `-n` and `--context`, on kubernetes. */
  namespace: string | undefined;
  kubeContext: string | undefined;
}

/** The context of the command being run. */
export function contextOf(command: Command): CliContext {
  const opts = command.optsWithGlobals<GlobalOptions>();
  // Silently ignoring them would run the command against the local site instead.
  if (
    opts.platform !== 'kubernetes' &&
    (opts.namespace !== undefined || opts.context !== undefined)
  ) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      '-n/--namespace and --context are for --platform kubernetes; add it, or leave them out to act on the local site',
    );
  }
  return {
    stateDir: resolveStateDir(opts.stateDir),
    output: opts.output,
    logLevel: opts.logLevel,
    platform: opts.platform,
    namespace: opts.namespace,
    kubeContext: opts.context,
  };
}

/** Refuses a command that has no meaning on the kubernetes platform, saying what does it there. */
export function localOnly(ctx: CliContext, instead: string): void {
  if (ctx.platform === 'kubernetes') {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `on the kubernetes platform ${instead}`);
  }
}

/** `site run`'s context: the one command that runs on the kubernetes platform so far. */
export type RunContext =
  | (Omit<CliContext, 'platform' | 'namespace' | 'kubeContext'> & { platform: 'local' })
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
  if (opts.platform !== 'kubernetes') {
    const { platform: _, namespace: __, kubeContext: ___, ...local } = contextOf(command);
    return { ...local, platform: 'local' };
  }
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
 * Runs `fn` with a connection to the state dir's router (on kubernetes: to the namespace),
 * closed afterwards. The gRPC stack (or client-node) is loaded here, on first use, so
 * `version` and refused input answer quickly.
 */
export async function withAdmin<T>(
  ctx: CliContext,
  fn: (api: AdminClient) => Promise<T>,
  options?: AdminClientOptions,
): Promise<T> {
  const api =
    ctx.platform === 'kubernetes'
      ? (await import('./kube-admin.js')).kubeAdmin(ctx, options)
      : (await import('../admin/client.js')).connectAdmin(ctx.stateDir, options);
  try {
    return await fn(api);
  } finally {
    api.close();
  }
}
