/**
 * `npm run demo`: two sites on this machine, linked from a token, with a small HTTP
 * service exposed in one and fetched through a listener in the other. Every step is the
 * command a user would type, printed before it runs. `--keep` leaves both sites running.
 * `--kubernetes`: the same story on two namespaces of the test cluster (demo-kube.ts).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PortTaken, saysPortInUse, withFreePort } from '../test/helpers/ports.js';
import { type DemoArgs, parseDemoArgs } from './demo-args.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
const out = (line: string) => process.stdout.write(`${line}\n`);
const routers: ChildProcess[] = [];

function skiff(stateDir: string, ...args: string[]): Promise<string> {
  out(`$ skiff --state-dir ${stateDir} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, '--state-dir', stateDir, ...args], (err, stdout, stderr) => {
      if (stdout) out(stdout.trimEnd().replace(/^/gm, '  '));
      if (err) reject(new Error(stderr.trim() || err.message));
      else resolve(stdout);
    });
  });
}

/**
 * Starts `site run` in the background and resolves once it logs "router ready"; rejects
 * with its `skiff: ...` line if it exits first.
 */
function startRouter(stateDir: string): Promise<void> {
  out(`$ skiff --state-dir ${stateDir} site run &`);
  // Run as a user runs it, so its shebang's flags and environment apply.
  const child = spawn(bin, ['--state-dir', stateDir, 'site', 'run'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  routers.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    let refusal = '';
    lines.on('line', (line) => {
      if (line.includes('"router ready"')) resolve();
      if (line.startsWith('skiff: ')) refusal = line;
      if (line.includes('"level":50') || line.includes('"level":60'))
        process.stderr.write(`  ${line}\n`);
    });
    lines.once('close', () =>
      reject(new Error(refusal || `router for ${stateDir} exited before it was ready`)),
    );
  });
}

/**
 * Runs a step that binds `port`, on another port if something took this one since it was
 * picked (a port is free when picked, not reserved): `undo` removes what the step made.
 */
async function onFreePort(step: (port: number) => Promise<void>, undo: () => Promise<void>) {
  return withFreePort(async (port) => {
    try {
      await step(port);
      return port;
    } catch (err) {
      if (!(err instanceof Error) || !saysPortInUse(err.message, port)) throw err;
      out(`  (port ${port} was taken meanwhile: again on another port)`);
      await undo();
      throw new PortTaken(port, err.message);
    }
  });
}

/** `site create NAME --link-port P` then `site run`, another P if P was taken meanwhile. */
function createAndRun(stateDir: string, name: string): Promise<number> {
  return onFreePort(
    async (port) => {
      await skiff(
        stateDir,
        'site',
        'create',
        name,
        '--link-host',
        '127.0.0.1',
        '--link-port',
        String(port),
      );
      await startRouter(stateDir);
    },
    () => rm(stateDir, { recursive: true, force: true }),
  );
}

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(body));
    }).once('error', reject);
  });
}

/** The listener works once east's address list has reached west over the link. */
async function waitForAddress(stateDir: string, address: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const status = await new Promise<string>((resolve) => {
      execFile(process.execPath, [bin, '--state-dir', stateDir, '-o', 'json', 'status'], (_e, so) =>
        resolve(so),
      );
    });
    const parsed = JSON.parse(status || '{}') as { addresses?: Array<{ address: string }> };
    if (parsed.addresses?.some((a) => a.address === address)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`address ${address} did not reach ${stateDir}`);
}

async function main({ keep }: DemoArgs): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'skiff-demo-'));
  const west = join(root, 'west');
  const east = join(root, 'east');
  const service = createServer((_req, res) => res.end('hello from the east site\n'));
  try {
    await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
    const servicePort = (service.address() as { port: number }).port;

    out(
      '\n# 1. Create two sites (each gets its own CA and link certificate) and run their routers',
    );
    await createAndRun(west, 'west');
    await createAndRun(east, 'east');
    out('\n# 2. West issues a one-time token; east redeems it to link to west');
    const token = join(root, 'west.token');
    await skiff(west, 'token', 'create', token, '--expiry', '15m');
    await skiff(east, 'link', 'create', token);
    out(`\n# 3. East exposes its HTTP service (127.0.0.1:${servicePort}) as "hello"`);
    await skiff(east, 'expose', 'hello', '--target', `127.0.0.1:${servicePort}`);
    out('\n# 4. West listens for "hello" on a local port');
    const listenerPort = await onFreePort(
      async (port) => {
        await skiff(west, 'listener', 'create', 'hello', '--port', String(port));
      },
      async () => undefined, // a refused listener create changed nothing
    );
    await waitForAddress(west, 'hello');
    out(`\n# 5. A client at west fetches through the link`);
    out(`$ curl http://127.0.0.1:${listenerPort}/`);
    const body = await fetchText(`http://127.0.0.1:${listenerPort}/`);
    process.stdout.write(`  ${body}`);
    if (body !== 'hello from the east site\n') throw new Error(`unexpected reply: ${body}`);
    out('');
    await skiff(west, 'link', 'status');
    await skiff(east, 'status');
    if (keep) {
      out(`\nBoth sites keep running. Try: SKIFF_STATE_DIR=${west} npx skiff status`);
      out('Press Ctrl-C to stop them and clean up.');
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
    }
    out('\ndemo ok: cleaning up');
  } finally {
    await Promise.all(
      routers.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    service.close();
    await rm(root, { recursive: true, force: true });
  }
}

async function dispatch(): Promise<void> {
  const args = parseDemoArgs(process.argv.slice(2));
  // Loaded only when asked for: the cluster harness installs its own exit and signal handlers.
  if (args.kubernetes) await (await import('./demo-kube.js')).kubeDemo(args);
  else await main(args);
}

dispatch().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
