/**
 * `npm run demo -- --kubernetes`: the demo's story on two namespaces of the test cluster
 * (test/cluster: the real etcd, kube-apiserver and kube-controller-manager, with this
 * machine playing kubelet, kube-proxy and DNS). Each namespace's admin installs
 * deploy/kubernetes; west issues a token, east links with it; west exposes a Deployment
 * `api`; an app pod in east reaches `api:8080` by name and both ends hash the bytes. Every
 * step is printed as the command a user would type and timed. `--keep` leaves it running
 * until Ctrl-C; otherwise, and on an error or Ctrl-C, everything the demo made goes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { Cluster } from '../test/cluster/cluster.js';
import { type ClientOutcome, echoSessions } from '../test/cluster/echo-log.js';
import { atExit } from '../test/cluster/exit-cleanup.js';
import { echoDeployment } from '../test/cluster/manifests.js';
import { cacheDir, cachedBinaries, findGo } from '../test/controlplane/binaries.js';
import type { KubectlResult } from '../test/controlplane/kubectl.js';
import { killWithTestProcess } from '../test/helpers/children.js';
import { childEnv, repoRoot, skiffBin } from '../test/helpers/cli.js';
import { pollUntil } from '../test/helpers/wait.js';
import { installSite, RouterImage, type SiteInstall } from '../test/kube/site-install.js';
import type { DemoArgs } from './demo-args.js';
import { kubeDemoProblems, NEEDED_COMMANDS } from './demo-kube-checks.js';

const out = (line: string) => process.stdout.write(`${line}\n`);
const indent = (text: string) => text.trimEnd().replace(/^/gm, '  ');
const ECHO_IMAGE = 'skiff-test/echo:1';
const CLIENT = join(repoRoot, 'dist', 'test', 'cluster', 'tcp-client-main.js');
const MiB = 1024 * 1024;
const BYTES = 16 * MiB;
const CLI_TIMEOUT_MS = 120_000;
/** Service and endpoint changes reach the pods' rules soon after they are made, not at once. */
const SETTLES = { timeoutMs: 90_000, intervalMs: 200 };

class DemoRefused extends Error {
  constructor(problems: readonly string[]) {
    super(`the kubernetes demo cannot run here:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DemoRefused';
  }
}

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function checkMachine(): void {
  const go = cachedBinaries() === undefined ? findGo() : undefined;
  const problems = kubeDemoProblems({
    uid: process.getuid?.() ?? -1,
    commands: new Set(NEEDED_COMMANDS.filter(hasCommand)),
    cacheDir: cacheDir(),
    controlPlaneBuilt: cachedBinaries() !== undefined,
    goMissing: go !== undefined && 'missing' in go ? go.missing : undefined,
  });
  if (problems.length > 0) throw new DemoRefused(problems);
}

/**
 * After Ctrl-C the harness's exit handlers remove the cluster under its kubelet, whose
 * last status patches then fail: their warnings say nothing to someone who asked to stop.
 */
function quietHarness(): void {
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    String(chunk).startsWith('skiff test cluster: ')
      ? true
      : write(chunk, ...rest)) as typeof process.stderr.write;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs the demo's numbered steps, printing each one's time and keeping them for the summary. */
class Steps {
  private n = 0;
  readonly times: { title: string; ms: number }[] = [];

  async run<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.n += 1;
    out(`\n# ${this.n}. ${title}`);
    const t0 = performance.now();
    const value = await fn();
    const ms = performance.now() - t0;
    this.times.push({ title, ms });
    out(`  (${seconds(ms)})`);
    return value;
  }
}

/**
 * Runs `argv`, printing its stdout and stderr lines indented as they come (progress shows
 * while a command waits); rejects with its stderr's last line if it fails or outlives
 * CLI_TIMEOUT_MS. Killed with the demo if the demo dies first.
 */
function runShown(
  argv: readonly string[],
  shown: string,
  options: { cwd: string; env: NodeJS.ProcessEnv },
) {
  const [command, ...args] = argv;
  const child = spawn(command!, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  killWithTestProcess(child);
  let lastError = '';
  createInterface({ input: child.stdout }).on('line', (line) => out(`  ${line}`));
  createInterface({ input: child.stderr }).on('line', (line) => {
    out(`  ${line}`);
    if (line.trim() !== '') lastError = line;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
  return new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${shown}: exited ${code ?? signal}: ${lastError}`));
    });
  });
}

function ok(result: KubectlResult): string {
  if (result.code !== 0)
    throw new Error(`${result.command} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

export async function kubeDemo({ keep }: DemoArgs): Promise<void> {
  checkMachine();
  const demoStart = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'skiff-demo-kube-'));
  // Also at exit or death by Ctrl-C, as the cluster harness removes its own.
  const removeRoot = atExit(() => rmSync(root, { recursive: true, force: true }));
  process.prependOnceListener('SIGINT', () => {
    out('\ninterrupted: tearing everything down');
    quietHarness();
  });
  let image: RouterImage | undefined;
  let cluster: Cluster | undefined;
  try {
    image = await RouterImage.make();
    const images = {
      ...image.images,
      [ECHO_IMAGE]: {
        entrypoint: [process.execPath, join(repoRoot, 'dist', 'test', 'cluster', 'echo-main.js')],
        cmd: ['8080', '8081'],
      },
    };
    const steps = new Steps();
    const c = await steps.run(
      'Start a Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager); this machine plays its node',
      async () => {
        const started = await Cluster.start({ images });
        out(
          `  API server ${started.controlPlane.server} in network namespace ${started.network.ns}`,
        );
        return started;
      },
    );
    cluster = c;

    /** `kubectl ARGS` as `site`'s admin, printed as typed (`shown` for file paths). */
    const kubectl = async (site: SiteInstall, args: string[], shown = args) => {
      out(`$ kubectl ${shown.join(' ')}`);
      const text = ok(await c.kubectl(args, { kubeconfig: site.kubeconfig, timeoutMs: 120_000 }));
      if (text.trim() !== '') out(indent(text));
      return text;
    };

    /** `skiff --platform kubernetes -n NS ARGS` as `site`'s admin, in the demo's directory. */
    /** `skiff --platform kubernetes -n NS ARGS` as `site`'s admin, in the demo's directory. */
    const skiff = (site: SiteInstall, args: string[]): Promise<void> => {
      const words = ['--platform', 'kubernetes', '-n', site.namespace, ...args];
      out(`$ skiff ${words.join(' ')}`);
      // In the cluster's network namespace: the API server's address is there.
      return runShown(
        [...c.wrapper, process.execPath, skiffBin, ...words],
        `skiff ${words.join(' ')}`,
        {
          cwd: root,
          env: childEnv({ KUBECONFIG: site.kubeconfig }),
        },
      );
    };

    const [west, east] = await steps.run(
      'Each namespace admin installs skiff in their own namespace (no cluster-wide rights)',
      async () => {
        const sites: SiteInstall[] = [];
        for (const [namespace, user] of [
          ['west', 'west-admin'],
          ['east', 'east-admin'],
        ] as const) {
          out(
            `  (the cluster admin: kubectl create namespace ${namespace}; kubectl create rolebinding ${user}-admin --clusterrole=admin --user=${user} -n ${namespace})`,
          );
          out(`$ kubectl apply -n ${namespace} -k deploy/kubernetes    # as ${user}`);
          const site = await installSite(c, namespace, user);
          out(`  the router pod in ${namespace} is Ready ${seconds(site.readyMs)} after the apply`);
          sites.push(site);
        }
        return sites as [SiteInstall, SiteInstall];
      },
    );
    out(`\n  (from here each command runs in ${root} as that namespace's admin:`);
    for (const site of [west, east]) out(`   ${site.namespace}: KUBECONFIG=${site.kubeconfig}`);
    out('  )');

    await steps.run('West issues a one-time token', () =>
      skiff(west, ['token', 'create', 'west.yaml']),
    );
    await steps.run('East redeems it: its router makes the link (the key stays in the pod)', () =>
      skiff(east, ['link', 'create', 'west.yaml']),
    );

    const apiFile = join(root, 'api.yaml');
    await writeFile(apiFile, stringify(echoDeployment('west', 'api', 1)));
    await steps.run(
      'West runs a Deployment api (an echo server on port 8080) and exposes it',
      async () => {
        await kubectl(
          west,
          ['apply', '-n', 'west', '-f', apiFile],
          ['apply', '-n', 'west', '-f', 'api.yaml'],
        );
        await kubectl(west, ['rollout', 'status', '-n', 'west', 'deployment/api', '--timeout=90s']);
        await skiff(west, ['expose', 'deployment/api', '--port', '8080']);
      },
    );

    await steps.run('The proxy Service api appears in east', async () => {
      await pollUntil(
        'the proxy Service api in east',
        async () =>
          c.api.core
            .readNamespacedService({ name: 'api', namespace: 'east' })
            .catch(() => undefined),
        SETTLES,
      );
      await kubectl(east, ['get', 'service', 'api', '-n', 'east']);
    });
    await steps.run('East looks at its site', () => skiff(east, ['status']));

    const appFile = join(root, 'app.yaml');
    const appSpec = echoDeployment('east', 'app', 1).spec!.template.spec!;
    await writeFile(
      appFile,
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'app', namespace: 'east' },
        spec: appSpec,
      }),
    );
    await steps.run(
      `An app pod in east connects to api:8080 and sends ${BYTES / MiB} MiB; the echo comes back through the link`,
      async () => {
        await kubectl(
          east,
          ['apply', '-n', 'east', '-f', appFile],
          ['apply', '-n', 'east', '-f', 'app.yaml'],
        );
        await kubectl(east, [
          'wait',
          '-n',
          'east',
          '--for=condition=Ready',
          'pod/app',
          '--timeout=90s',
        ]);
        const argv = [process.execPath, CLIENT, 'api', '8080', String(BYTES), '7', '1'];
        out(`$ kubectl exec -n east app -- node tcp-client-main.js api 8080 ${BYTES}`);
        // The proxy Service's endpoint reaches the pod's rules a moment after it is made.
        const outcome = await pollUntil(
          'a stream through api:8080 from east',
          async () => {
            const result = await c.pod('east', 'app').exec(argv);
            const last = result.stdout.trim().split('\n').pop() ?? '';
            if (result.code !== 0 || !last.startsWith('{')) {
              throw new Error(`the client in pod app exited ${result.code}: ${result.stderr}`);
            }
            const o = JSON.parse(last) as ClientOutcome;
            return o.error === undefined && o;
          },
          SETTLES,
        );
        if (outcome.pod === undefined) throw new Error('no pod answered the stream');
        const answered = outcome.pod;
        const served = await pollUntil(
          `pod ${answered} in west to log the stream`,
          async () =>
            echoSessions(c.pod('west', answered).logFile()).find(
              (s) => s.sha256 === outcome.sentSha256,
            ),
          SETTLES,
        );
        out(`  app in east sent     ${outcome.sent} bytes, sha256 ${outcome.sentSha256}`);
        out(`  ${answered} in west got ${served.bytes} bytes, sha256 ${served.sha256}`);
        out(`  app in east got back ${outcome.received} bytes, sha256 ${outcome.receivedSha256}`);
        const exact =
          outcome.sent === BYTES &&
          outcome.received === BYTES &&
          outcome.receivedSha256 === outcome.sentSha256 &&
          served.bytes === BYTES;
        if (!exact) throw new Error('the bytes that came back are not the bytes sent');
        out('  the same bytes at both ends');
      },
    );

    out('\n# Times');
    for (const { title, ms } of steps.times) out(`  ${seconds(ms).padStart(7)}  ${title}`);
    out(`  ${seconds(performance.now() - demoStart).padStart(7)}  in all`);

    if (keep) {
      const ns = c.network.ns;
      out('\nThe cluster keeps running. Try, as root:');
      out(
        `  ip netns exec ${ns} env KUBECONFIG=${east.kubeconfig} ${skiffBin} --platform kubernetes -n east status`,
      );
      out(
        `  ip netns exec ${ns} ${c.controlPlane.binaries.kubectl} --kubeconfig ${c.controlPlane.adminKubeconfig} get pods -A`,
      );
      out('Press Ctrl-C to stop it and clean up.');
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
    }
    out('\ndemo ok: cleaning up');
  } finally {
    await cluster?.stop();
    image?.dispose();
    removeRoot();
  }
}
