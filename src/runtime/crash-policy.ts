import { describe } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * What the process does with a failure nothing caught. A rejected promise is one request,
 * record or link that failed: it is logged and the router keeps serving (Node's default
 * would end the process). A thrown exception has unwound through code that may have left
 * its state half changed, so the router logs it and exits non-zero for its supervisor to
 * restart it from the durable state; staying up in an unknown state is worse than a
 * restart. Every known failure path catches its own errors: these are the last resort.
 */
export function installCrashPolicy(logger: Logger): void {
  process.on('unhandledRejection', (reason) => {
    logger.error(
      { err: describe(reason), stack: reason instanceof Error ? reason.stack : undefined },
      'unhandled rejection (a bug): the operation failed, the router keeps serving',
    );
  });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err: describe(err), stack: err.stack }, 'uncaught exception: router exits');
    logger.flush();
    process.exitCode = 70;
    setImmediate(() => process.exit(70));
  });
}
