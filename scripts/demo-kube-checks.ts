/**
 * What `npm run demo -- --kubernetes` needs from the machine, checked before anything
 * starts: root (the test cluster makes network namespaces and nftables rules), `ip` and
 * `nft`, and the control plane's binaries. Pure, so its messages can be tested.
 */
import { GO_MIN_MINOR } from '../test/controlplane/binaries.js';

export interface MachineFacts {
  uid: number;
  /** Commands found on the PATH, of those asked about. */
  commands: ReadonlySet<string>;
  /** Where the control plane's binaries are cached (binaries.ts cacheDir()). */
  cacheDir: string;
  /** The binaries are built there (cachedBinaries()). */
  controlPlaneBuilt: boolean;
  /** Why no usable Go is found (findGo()'s `missing`), or undefined when there is one. */
  goMissing: string | undefined;
}

export const NEEDED_COMMANDS = ['ip', 'nft'] as const;

/** Each missing thing, said with what to do about it; empty when the demo can run. */
export function kubeDemoProblems(facts: MachineFacts): string[] {
  const problems: string[] = [];
  if (facts.uid !== 0) {
    problems.push(
      'run it as root: the test cluster makes network namespaces, a bridge and nftables rules (sudo npm run demo -- --kubernetes)',
    );
  }
  const missing = NEEDED_COMMANDS.filter((c) => !facts.commands.has(c));
  if (missing.length > 0) {
    problems.push(
      `${missing.join(' and ')} not found: install iproute2 and nftables (apt-get install iproute2 nftables)`,
    );
  }
  if (!facts.controlPlaneBuilt) {
    const go =
      facts.goMissing === undefined
        ? ''
        : `; it needs Go, and ${facts.goMissing}: install Go 1.${GO_MIN_MINOR} or later from https://go.dev/dl/ first`;
    problems.push(
      `the control plane's binaries (etcd, kube-apiserver, kube-controller-manager, kubectl) are not built in ${facts.cacheDir}: build them once with \`npm run controlplane\` (Go 1.${GO_MIN_MINOR} or later, from the Go module proxy; about 16 min on 2 cores), then run this again${go}`,
    );
  }
  return problems;
}
