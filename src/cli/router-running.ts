import { ErrorCode, isSkiffError, SkiffError } from '../errors.js';
import { type CliContext, withAdmin } from './context.js';

/**
 * Deleting state under a running router would pull its keys from under it. `where`: `for
 * DIR`, `in namespace NS`; `how`: how to stop it, when that needs saying.
 */
export async function refuseIfRouterRuns(
  ctx: CliContext,
  where = `for ${ctx.stateDir}`,
  how = '',
): Promise<void> {
  let pid: number;
  try {
    pid = (await withAdmin(ctx, (api) => api.status())).pid;
  } catch (err) {
    if (isSkiffError(err, ErrorCode.NO_ROUTER)) return;
    throw err;
  }
  throw new SkiffError(
    ErrorCode.ROUTER_RUNNING,
    `the router ${where} is running (pid ${pid}); stop it first${how}, then delete the site`,
  );
}
