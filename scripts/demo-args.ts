/** `npm run demo -- [--kubernetes] [--keep]`: the demo's flags, parsed before anything starts. */

export interface DemoArgs {
  /** Two namespaces of the test cluster (scripts/demo-kube.ts) instead of two local sites. */
  kubernetes: boolean;
  /** Leave everything running until Ctrl-C. */
  keep: boolean;
}

export const DEMO_USAGE = 'usage: npm run demo -- [--kubernetes] [--keep]';

export class DemoUsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${DEMO_USAGE}`);
    this.name = 'DemoUsageError';
  }
}

/** Refuses anything but the two flags, so a typo never runs the other demo. */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const args: DemoArgs = { kubernetes: false, keep: false };
  for (const arg of argv) {
    if (arg === '--kubernetes') args.kubernetes = true;
    else if (arg === '--keep') args.keep = true;
    else throw new DemoUsageError(`unknown argument: ${arg}`);
  }
  return args;
}
