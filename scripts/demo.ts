/**
 * `npm run demo`: two sites on this machine, linked from a token, with a small HTTP
 * service exposed in one and fetched through a listener in the other. Every step is the
 * command a user would type, printed before it runs. `--keep` leaves both sites running.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, get } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'skiff.js');
const keep = process.argv.includes('--keep');
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

/** Starts `site run` in the background and resolves once it logs "router ready". */
function startRouter(stateDir: string): Promise<void> {
  out(`$ skiff --state-dir ${stateDir} site run &`);
  // Run as a user runs it, so its shebang's flags and environment apply.
  const child = spawn(bin, ['--state-dir', stateDir, 'site', 'run'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  routers.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      if (line.includes('"router ready"')) resolve();
      if (line.includes('"level":50') || line.includes('"level":60'))
        process.stderr.write(`  ${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`router for ${stateDir} exited with ${code}`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
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

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'skiff-demo-'));
  const west = join(root, 'west');
  const east = join(root, 'east');
  const service = createServer((_req, res) => res.end('hello from the east site\n'));
  try {
    const [westPort, eastPort, listenerPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
    const servicePort = (service.address() as { port: number }).port;

    out('\n# 1. Create two sites (each gets its own CA and link certificate)');
    await skiff(
      west,
      'site',
      'create',
      'west',
      '--link-host',
      '127.0.0.1',
      '--link-port',
      String(westPort),
    );
    await skiff(
      east,
      'site',
      'create',
      'east',
      '--link-host',
      '127.0.0.1',
      '--link-port',
      String(eastPort),
    );
    out('\n# 2. Run their routers');
    await startRouter(west);
    await startRouter(east);
    out('\n# 3. West issues a one-time token; east redeems it to link to west');
    const token = join(root, 'west.token');
    await skiff(west, 'token', 'create', token, '--expiry', '15m');
    await skiff(east, 'link', 'create', token);
    out(`\n# 4. East exposes its HTTP service (127.0.0.1:${servicePort}) as "hello"`);
    await skiff(east, 'expose', 'hello', '--target', `127.0.0.1:${servicePort}`);
    out('\n# 5. West listens for "hello" on a local port');
    await skiff(west, 'listener', 'create', 'hello', '--port', String(listenerPort));
    await waitForAddress(west, 'hello');
    out(`\n# 6. A client at west fetches through the link`);
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

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
