/**
 * Issue 10 point 6 (logs a person can read) and point 5's dump of recent log lines, through
 * real `site run` processes: on a terminal one plain ready line and pretty log lines; JSON
 * lines and nothing on stdout when not on a terminal; no key twice in any raw log line of a
 * router that links, carries a stream and unlinks at debug level; `debug dump` holding the
 * recent lines and no secret.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminSocketPath } from '../../src/config/paths.js';
import { killWithTestProcess } from '../helpers/children.js';
import { childEnv, cliOk, skiffBin } from '../helpers/cli.js';
import { duplicateKeys } from '../helpers/json-keys.js';
import { exposeAndListen, linkSites, twoLinkedSites } from '../helpers/pair.js';
import { RouterProcess } from '../helpers/router.js';
import { withTimeout } from '../helpers/wait.js';

const CTRL_C = '\x03';

/**
 * `skiff site run` for `router`'s state dir, on a pseudo-terminal (script(1); stdout and
 * stderr both the terminal, `\n` not turned into `\r\n`) or on pipes.
 */
class SiteRun {
  output = '';
  stdout = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly changed = new Set<() => void>();

  constructor(
    stateDir: string,
    readonly terminal: boolean,
    args: readonly string[] = [],
    env: NodeJS.ProcessEnv = {},
  ) {
    const argv = [process.execPath, skiffBin, '--state-dir', stateDir, 'site', 'run', ...args];
    const quoted = argv.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(' ');
    this.child = terminal
      ? spawn('script', ['-qfec', `stty -onlcr -echo && exec ${quoted}`, '/dev/null'], {
          env: childEnv({ SHELL: '/bin/sh', ...env }),
          stdio: ['pipe', 'pipe', 'pipe'],
        })
      : spawn(argv[0]!, argv.slice(1), { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    killWithTestProcess(this.child);
    const add = (chunk: string) => {
      this.output += chunk;
      for (const notify of this.changed) notify();
    };
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (!terminal) this.stdout += chunk;
      else add(chunk);
    });
    this.child.stderr!.setEncoding('utf8').on('data', add);
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  /** Resolves once the output (terminal, or stderr on pipes) has a line matching `pattern`. */
  async waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    const seen = () => this.lines().some((l) => pattern.test(l));
    if (seen()) return;
    let notify!: () => void;
    const found = new Promise<void>((resolve) => {
      notify = () => {
        if (seen()) resolve();
      };
      this.changed.add(notify);
    });
    try {
      await withTimeout(
        Promise.race([
          found,
          this.exited.then((code) => {
            throw new Error(`site run exited (${code}) before ${pattern}: ${this.output}`);
          }),
        ]),
        timeoutMs,
        `a line matching ${pattern}; output so far: ${JSON.stringify(this.output)}`,
      );
    } finally {
      this.changed.delete(notify);
    }
  }

  lines(): string[] {
    return this.output.split('\n').filter((l) => l !== '');
  }

  /** Ctrl-C at the terminal, or SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.terminal) this.child.stdin!.write(CTRL_C);
    else this.child.kill('SIGTERM');
    return withTimeout(this.exited, 20_000, 'site run to exit');
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

const PRETTY = /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/;

describe('site run logs', { timeout: 120_000 }, () => {
  let router: RouterProcess;
  before(async () => {
    router = await RouterProcess.create({ name: 'west' });
  });
  after(() => router?.dispose());

  it('on a terminal: one plain ready line and pretty log lines; Ctrl-C stops it', async () => {
    const run = new SiteRun(router.stateDir, true);
    try {
      const ready = `site west: link port ${router.linkPort}, admin socket ${adminSocketPath(router.stateDir)}; Ctrl-C to stop`;
      await run.waitForLine(/Ctrl-C to stop$/);
      assert.equal(await run.stop(), 0, run.output);
      const lines = run.lines();
      assert.deepStrictEqual(
        lines.filter((l) => l.includes('Ctrl-C')),
        [ready],
      );
      const logs = lines.filter((l) => l !== ready);
      assert.ok(
        logs.some((l) => / INFO {2}router ready {2}site=west /.test(l)),
        run.output,
      );
      assert.ok(
        logs.some((l) => / INFO {2}router stopped /.test(l)),
        run.output,
      );
      for (const line of logs) assert.match(line, PRETTY);
    } finally {
      run.kill();
    }
  });

  it('on a terminal with --log-format json: JSON lines, and still the ready line', async () => {
    const run = new SiteRun(router.stateDir, true, ['--log-format', 'json']);
    try {
      await run.waitForLine(/Ctrl-C to stop$/);
      assert.equal(await run.stop(), 0, run.output);
      const logs = run.lines().filter((l) => !l.endsWith('Ctrl-C to stop'));
      assert.ok(logs.length >= 3, run.output);
      for (const line of logs) assert.equal(typeof JSON.parse(line).msg, 'string', line);
    } finally {
      run.kill();
    }
  });

  it('on pipes: nothing on stdout, JSON lines on stderr; SKIFF_LOG_FORMAT=pretty asks for pretty', async () => {
    const plain = new SiteRun(router.stateDir, false);
    try {
      await plain.waitForLine(/"msg":"router ready"/);
      assert.equal(await plain.stop(), 0, plain.output);
      assert.equal(plain.stdout, '');
      const events = plain.lines().map((l) => JSON.parse(l) as { msg: string });
      assert.ok(events.some((e) => e.msg === 'router stopped'));
    } finally {
      plain.kill();
    }
    const pretty = new SiteRun(router.stateDir, false, [], { SKIFF_LOG_FORMAT: 'pretty' });
    try {
      await pretty.waitForLine(/ INFO {2}router ready /);
      assert.equal(await pretty.stop(), 0, pretty.output);
      assert.equal(pretty.stdout, '');
      for (const line of pretty.lines()) assert.match(line, PRETTY);
    } finally {
      pretty.kill();
    }
  });
});

describe('log lines carry each key once', { timeout: 120_000 }, () => {
  let a: RouterProcess;
  let b: RouterProcess;
  let echo: Server;
  let workDir: string;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'skiff-it-logs-'));
    echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const env = { SKIFF_LOG_LEVEL: 'debug' };
    a = await RouterProcess.started({ name: 'site-a', env });
    b = await RouterProcess.started({ name: 'site-b', env });
  });
  after(async () => {
    await a?.dispose();
    await b?.dispose();
    echo?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('finds a key written twice (the check itself)', () => {
    assert.deepStrictEqual(duplicateKeys('{"a":1,"b":{"c":2,"c":3},"a":"x"}'), ['c', 'a']);
    assert.deepStrictEqual(duplicateKeys('{"a":"\\"a\\"","b":[{"a":1},{"a":2}]}'), []);
  });

  it('in every line of two routers that link, carry a stream, unlink and stop', async () => {
    await linkSites(a, b, workDir);
    const port = await exposeAndListen(a, b, 'echo', (echo.address() as { port: number }).port);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end('hello'));
      let got = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        got += chunk;
      });
      socket.once('error', reject).once('close', () => resolve(got));
    });
    assert.equal(reply, 'hello');
    await cliOk(a.stateDir, ['unexpose', 'echo']);
    await cliOk(b.stateDir, ['link', 'delete', 'site-a']);
    await a.stop();
    await b.stop();
    const messages = new Set<string>();
    for (const router of [a, b]) {
      for (const event of router.events) {
        messages.add(event.msg);
        const line = router.rawLine(event);
        assert.deepStrictEqual(duplicateKeys(line), [], `${router.name}: ${line}`);
      }
    }
    // The lines where keys were bound twice before (the mux under a link's logger).
    for (const msg of ['stream opening', 'stream offered', 'sending GOAWAY', 'link up']) {
      assert.ok(messages.has(msg), `a "${msg}" line was checked; seen: ${[...messages]}`);
    }
  });
});

describe('debug dump', { timeout: 120_000 }, () => {
  it("holds the router's recent log lines and no secret", async () => {
    const sites = await twoLinkedSites();
    try {
      const file = join(sites.workDir, 'dump.json');
      await cliOk(sites.a.stateDir, ['debug', 'dump', file]);
      const text = await readFile(file, 'utf8');
      const dump = JSON.parse(text) as { log: Array<{ msg?: string; pid?: number }> };
      assert.ok(Array.isArray(dump.log) && dump.log.length <= 500);
      const messages = dump.log.map((e) => e.msg);
      for (const msg of ['router ready', 'token issued', 'link up']) {
        assert.ok(messages.includes(msg), `"${msg}" in the dump's log: ${messages}`);
      }
      assert.equal(dump.log[0]?.pid, sites.a.pid);
      // The token that made the link passed through this router; its secret must not.
      const tokens = (await readdir(sites.workDir)).filter((f) => f.startsWith('token-'));
      assert.ok(tokens.length > 0);
      for (const token of tokens) {
        const secret = /^secret: (\S+)$/m.exec(await readFile(join(sites.workDir, token), 'utf8'));
        assert.ok(secret, `a secret in ${token}`);
        assert.equal(text.includes(secret[1]!), false, 'the token secret is not in the dump');
      }
      assert.doesNotMatch(text, /PRIVATE KEY/);
    } finally {
      await sites.dispose();
    }
  });
});
