/**
 * Proves issue 10 point 4 through the real CLI against real routers: `link create` (by
 * default), `expose` and `listener create` (with --wait) wait until ready (decision 0016),
 * on a terminal with a spinner that
 * is erased and otherwise with plain lines; `-o json` keeps stdout to the final JSON; a
 * timeout is one line naming the cause (the link's last error, the target refusing, no site
 * serving the address) and exit 1; `--no-wait` returns at once; `status --watch` and
 * `link status --watch` print again after a change and end with exit 0 on Ctrl-C.
 *
 * Sites: west, east (east linked to west) and north behind a proxy. For a link that can never
 * come up, north's proxy is replaced by a forwarder that takes one connection (the token's
 * redemption) and then stops listening, so every dial of the link is refused.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import type { ConnectorInfo, LinkInfo } from '../../src/admin/api.js';
import { killWithTestProcess } from '../helpers/children.js';
import { assertCliJsonError, type CliResult, childEnv, skiffBin } from '../helpers/cli.js';
import { createListener, listenerCommand, listenerOnFreePort } from '../helpers/listeners.js';
import { type Network, useNetwork } from '../helpers/network.js';
import { createToken } from '../helpers/pair.js';
import { bindOwn, PortTaken, pickPort, withFreePort } from '../helpers/ports.js';
import { CTRL_C, PtyRun, runOnPty, screen } from '../helpers/pty.js';
import { startEchoServer, startServer, type TcpServer } from '../helpers/tcp.js';
import { withTimeout } from '../helpers/wait.js';

const FRAME = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/u;

/** A port where nothing listens: a server's, closed again. */
async function refusingPort(): Promise<number> {
  const server = await startServer(() => {});
  await server.close();
  return server.port;
}

/**
 * Replaces north's proxy with one that forwards the first connection only (the redemption
 * of a token) and then stops listening: a link from that token is refused at every dial.
 */
async function oneShotNorth(net: Network): Promise<TcpServer> {
  const proxy = net.proxy('north');
  await proxy.close();
  const forwarder = await startServer(
    (client) => {
      forwarder.server.close();
      const upstream = connect({ host: '127.0.0.1', port: proxy.targetPort });
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    },
    { port: proxy.port },
  );
  return net.track(forwarder);
}

function elapsedSince(start: number): number {
  return performance.now() - start;
}

/** stderr's lines, asserting the last is the one error line and every other a plain progress line. */
function progressThenError(result: CliResult, what: string): string {
  assert.equal(result.code, 1, `${result.command}: ${result.stderr}`);
  assert.ok(
    !result.stderr.includes('\r') && !result.stderr.includes('\x1b'),
    `no control codes off a terminal: ${JSON.stringify(result.stderr)}`,
  );
  const lines = result.stderr.trimEnd().split('\n');
  const last = lines.pop()!;
  for (const line of lines) assert.ok(line.startsWith(`waiting for ${what}: `), line);
  assert.equal(new Set(lines).size, lines.length, 'a progress line only when something changed');
  assert.match(last, /^skiff: timed out after /);
  return last;
}

describe('--wait, --no-wait and --timeout on link create, expose and listener create', {
  timeout: 240_000,
}, () => {
  const net = useNetwork(['west', 'east', { name: 'north', proxied: true }], {
    links: [['east', 'west']],
  });
  const token = (issuer: string, args: string[] = []) =>
    createToken(net().site(issuer), net().workDir, args);

  test('link create waits until the link is up; -o json prints only the link, up', {
    timeout: 30_000,
  }, async () => {
    const west = net().site('west');
    const result = await west.cli(['-o', 'json', 'link', 'create', await token('north')]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const link = JSON.parse(result.stdout) as LinkInfo;
    assert.equal(link.name, 'north');
    assert.equal(link.state, 'up');
    // Later tests need north's port to themselves: no link may redial it.
    await west.cli(['link', 'delete', 'north']);
  });

  test('on a terminal link create draws progress on stderr only and erases it; stdout is the JSON', {
    timeout: 30_000,
  }, async () => {
    const east = net().site('east');
    const file = await token('north');
    const run = await runOnPty(east.stateDir, ['-o', 'json', 'link', 'create', file], {
      stdout: 'file',
    });
    assert.equal(run.code, 0, run.terminal);
    assert.deepEqual(screen(run.terminal), [], 'nothing stays on the terminal');
    const link = JSON.parse(run.stdout!) as LinkInfo;
    assert.equal(link.state, 'up');
    assert.equal(run.stdout, `${JSON.stringify(link, null, 2)}\n`);
    await east.cli(['link', 'delete', 'north']);
  });

  test('a link that cannot come up: after --timeout one line with its last error, exit 1; progress lines before it', {
    timeout: 30_000,
  }, async () => {
    const east = net().site('east');
    await oneShotNorth(net());
    const file = await token('north');
    const start = performance.now();
    const result = await east.cli(['link', 'create', file, '--name', 'north-a', '--timeout', '2s']);
    const took = elapsedSince(start);
    const port = net().proxy('north').port;
    const last = progressThenError(result, 'link north-a to come up');
    assert.match(
      last,
      new RegExp(
        `^skiff: timed out after 2s waiting for link north-a to come up: [^;]*connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\b[^;]*; it keeps retrying, see: skiff link status north-a$`,
      ),
    );
    assert.equal(result.stdout, '');
    assert.ok(took >= 2000, `waited ${took} ms`);
    const kept = (await east.links()).find((l) => l.name === 'north-a');
    assert.equal(kept?.state === 'up', false, 'the link is kept, not up');
    await east.cli(['link', 'delete', 'north-a']);
  });

  test('with -o json off a terminal the timeout is the only stderr line, a JSON error; stdout stays empty', {
    timeout: 30_000,
  }, async () => {
    const east = net().site('east');
    await oneShotNorth(net());
    const args = ['-o', 'json', 'link', 'create', await token('north'), '--name', 'north-b'];
    const result = await east.cli([...args, '--timeout', '1s']);
    assert.equal(result.code, 1);
    const error = assertCliJsonError(result, 'SKIFF_ERR_TIMEOUT');
    assert.match(
      error.message,
      /^timed out after 1s waiting for link north-b to come up: .*connect ECONNREFUSED /,
    );
    await east.cli(['link', 'delete', 'north-b']);
  });

  test('on a terminal the timeout leaves exactly the error line, after a spinner showing the last error', {
    timeout: 30_000,
  }, async () => {
    const east = net().site('east');
    await oneShotNorth(net());
    const file = await token('north');
    const run = await runOnPty(
      east.stateDir,
      ['link', 'create', file, '--name', 'north-c', '--timeout', '2s'],
      {
        stdout: 'file',
      },
    );
    assert.equal(run.code, 1, run.terminal);
    assert.match(run.terminal, FRAME, 'a spinner was drawn');
    assert.match(
      run.terminal,
      /waiting for link north-c to come up \(\ds\): [^\r]*connect ECONNREFUSED/,
    );
    const lines = screen(run.terminal);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.match(
      lines[0]!,
      /^skiff: timed out after 2s waiting for link north-c to come up: [^;]*connect ECONNREFUSED /,
    );
    assert.equal(run.stdout, '');
    await east.cli(['link', 'delete', 'north-c']);
  });

  test('Ctrl-C during a wait on a terminal erases the spinner and ends the command by SIGINT', {
    timeout: 30_000,
  }, async () => {
    const east = net().site('east');
    await oneShotNorth(net());
    const file = await token('north');
    const run = await PtyRun.start(east.stateDir, ['link', 'create', file, '--name', 'north-e']);
    await run.waitForTerminal('the spinner', (t) => t.includes('waiting for link north-e'));
    run.type(CTRL_C);
    const done = await run.done;
    assert.equal(done.code, 128 + 2, 'killed by SIGINT (script -e reports 128 + signal)');
    assert.deepEqual(screen(done.terminal), [], 'the spinner is erased');
    await east.cli(['link', 'delete', 'north-e']);
  });

  test('link create --no-wait returns at once, the link not up yet', {
    timeout: 30_000,
  }, async () => {
    const east = net().site('east');
    await oneShotNorth(net());
    const file = await token('north');
    const link = await east.json<LinkInfo>([
      'link',
      'create',
      file,
      '--name',
      'north-d',
      '--no-wait',
    ]);
    assert.notEqual(
      link.state,
      'up',
      'returned without waiting (a wait could only end with it up, or exit 1)',
    );
    await east.cli(['link', 'delete', 'north-d']);
  });

  test('expose --wait waits until its target accepts a connection, and probes it', {
    timeout: 30_000,
  }, async () => {
    const west = net().site('west');
    const target = net().track(await startEchoServer());
    const result = await west.cli([
      'expose',
      'api',
      '--target',
      `127.0.0.1:${target.port}`,
      '--wait',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `exposed api -> 127.0.0.1:${target.port}\n`);
    assert.equal(result.stderr, '');
    assert.ok(target.accepted.length >= 1, 'the target was dialled');
  });

  test('on a terminal expose --wait waits while the target refuses, and returns once it listens', {
    timeout: 30_000,
  }, async () => {
    const west = net().site('west');
    // The target is the test's own server, started once the wait shows the refusal: another
    // process on the port (before the first probe, or by then) makes this try another port.
    const [port, run] = await withFreePort(async (port) => {
      const run = await PtyRun.start(
        west.stateDir,
        ['-o', 'json', 'expose', 'late', '--target', `127.0.0.1:${port}`, '--wait'],
        {
          stdout: 'file',
        },
      );
      let ended = false;
      const done = run.done.finally(() => {
        ended = true;
      });
      const spinner = run.waitForTerminal('the spinner naming the refusal', (t) =>
        t.includes(`target 127.0.0.1:${port} does not accept connections: connect ECONNREFUSED`),
      );
      spinner.catch(() => {});
      const refused = await Promise.race([spinner.then(() => true), done.then(() => false)]);
      const taken = async (detail: string): Promise<never> => {
        if (!ended) run.type(CTRL_C);
        await done.catch(() => {});
        await west.cli(['unexpose', 'late', '--ignore-not-found']);
        throw new PortTaken(port, detail);
      };
      if (!refused) {
        const early = await run.done;
        assert.equal(early.code, 0, early.terminal);
        return taken('the target accepted before the test listened there');
      }
      try {
        net().track(await bindOwn(port, () => startServer(() => {}, { port })));
      } catch (err) {
        if (err instanceof PortTaken) return taken(err.message);
        throw err;
      }
      return [port, run] as const;
    });
    const done = await run.done;
    assert.equal(done.code, 0, done.terminal);
    assert.deepEqual(screen(done.terminal), []);
    const connector = JSON.parse(done.stdout!) as ConnectorInfo;
    assert.deepEqual([connector.address, connector.port], ['late', port]);
  });

  test('expose --wait to a refused target: after --timeout one line saying the target refuses, exit 1', {
    timeout: 30_000,
  }, async () => {
    const west = net().site('west');
    const port = await refusingPort();
    const result = await west.cli([
      'expose',
      'dead',
      '--target',
      `127.0.0.1:${port}`,
      '--wait',
      '--timeout',
      '1s',
    ]);
    const last = progressThenError(result, 'dead to be ready');
    assert.equal(
      last,
      `skiff: timed out after 1s waiting for dead to be ready: target 127.0.0.1:${port} does not accept connections: connect ECONNREFUSED 127.0.0.1:${port}; it stays exposed, see: skiff status`,
    );
    const onTerminal = await runOnPty(west.stateDir, [
      'expose',
      'dead2',
      '--target',
      `127.0.0.1:${port}`,
      '--wait',
      '--timeout',
      '1s',
    ]);
    assert.equal(onTerminal.code, 1);
    assert.deepEqual(screen(onTerminal.terminal), [last.replace('for dead to', 'for dead2 to')]);
  });

  test('expose and listener create return at once by default, and with --no-wait, however unready', {
    timeout: 30_000,
  }, async () => {
    const west = net().site('west');
    const port = await refusingPort();
    for (const [address, flags] of [
      ['later', []],
      ['later2', ['--no-wait']],
    ] as const) {
      const result = await west.cli(['expose', address, '--target', `127.0.0.1:${port}`, ...flags]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `exposed ${address} -> 127.0.0.1:${port}\n`);
      assert.equal(result.stderr, '');
    }
    // Returned before anything serves it: no-route.
    await createListener(west, 'unserved', { state: 'no-route' });
  });

  test('listener create --wait waits until a reachable site serves the address; a connection then works at once', {
    timeout: 30_000,
  }, async () => {
    const [west, east] = [net().site('west'), net().site('east')];
    const db = net().track(await startEchoServer({ greeting: 'db at west' }));
    await west.cli(['expose', 'db', '--target', `127.0.0.1:${db.port}`]);
    // A --timeout below the test's, so that a wait on a port taken meanwhile ends in time to
    // try another; db is served, so the wait itself takes well under a second.
    const { port } = await createListener(east, 'db', { args: ['--wait', '--timeout', '10s'] });
    const socket = connect({ host: '127.0.0.1', port });
    const greeting = await withTimeout(
      new Promise<string>((resolve, reject) => {
        socket.setEncoding('utf8').once('data', resolve).once('error', reject);
      }),
      5000,
      'the greeting through the new listener',
    );
    socket.destroy();
    assert.equal(greeting, 'db at west\n');
  });

  test('listener create --wait for an address nobody serves: one line saying so after --timeout, the listener kept', {
    timeout: 30_000,
  }, async () => {
    const east = net().site('east');
    const { port, result } = await listenerOnFreePort(east, 'nothing', {
      args: ['--wait', '--timeout', '1s'],
    });
    const last = progressThenError(result, 'the listener for nothing to be ready');
    assert.equal(
      last,
      'skiff: timed out after 1s waiting for the listener for nothing to be ready: no reachable site has a connector for "nothing"; expose it at the site that runs the service; the listener stays, see: skiff listener list',
    );
    const listeners = await east.listeners();
    assert.equal(listeners.find((l) => l.address === 'nothing')?.port, port);
  });

  test('a bad --timeout is refused before anything is created (exit 2)', {
    timeout: 30_000,
  }, async () => {
    const east = net().site('east');
    const result = await east.cli([
      'listener',
      'create',
      'x',
      '--port',
      String(await pickPort()),
      '--timeout',
      'soon',
    ]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^skiff: --timeout: "soon" is not a duration/);
    assert.equal(
      (await east.listeners()).some((l) => l.address === 'x'),
      false,
    );
  });
});

/** A command left running with plain pipes (not a terminal). */
function spawnCli(stateDir: string, args: readonly string[]) {
  const child = spawn(process.execPath, [skiffBin, '--state-dir', stateDir, ...args], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killWithTestProcess(child);
  let stdout = '';
  let stderr = '';
  const changed = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const notify of changed) notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    child,
    exited,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    until(what: string, test: (out: string) => boolean): Promise<void> {
      if (test(stdout)) return Promise.resolve();
      let notify!: () => void;
      return withTimeout(
        new Promise<void>((resolve) => {
          notify = () => test(stdout) && resolve();
          changed.add(notify);
        }),
        15_000,
        `${what}; stdout: ${JSON.stringify(stdout)}; stderr: ${stderr}`,
      ).finally(() => changed.delete(notify));
    },
  };
}

const count = (text: string, part: string): number => text.split(part).length - 1;

describe('--watch on status and link status', { timeout: 120_000 }, () => {
  const net = useNetwork(['south', 'hub'], { links: [['south', 'hub']] });

  test('status --watch off a terminal prints once while nothing changes, again after a listener is created, exit 0 on SIGINT', {
    timeout: 45_000,
  }, async () => {
    const south = net().site('south');
    // A listener on a port taken meanwhile is deleted again, which the watch would print
    // too: each port gets a watch of its own.
    const watch = await withFreePort(async (port) => {
      const watch = spawnCli(south.stateDir, ['status', '--watch']);
      try {
        await watch.until('the first print', (out) => out.includes('Connectors:'));
        // Nothing changes for two polls (the uptime does, which does not count): no second print.
        await new Promise((resolve) => setTimeout(resolve, 2500));
        assert.equal(count(watch.stdout, 'Listeners:'), 1, watch.stdout);
        await listenerCommand(south, 'watched', port, { args: ['--no-wait'] });
      } catch (err) {
        watch.child.kill('SIGINT');
        await watch.exited;
        throw err;
      }
      return watch;
    });
    await watch.until('a second print with the listener', (out) =>
      /\n--- \d{4}-\d\d-\d\dT[^\n]+Z\n[\s\S]*watched/.test(out),
    );
    watch.child.kill('SIGINT');
    assert.equal(await withTimeout(watch.exited, 10_000, 'the watch to exit'), 0);
    assert.equal(watch.stderr, '');
    assert.equal(count(watch.stdout, 'Listeners:'), 2, watch.stdout);
  });

  test('link status --watch on a terminal redraws the screen after a change and exits 0 on Ctrl-C', {
    timeout: 45_000,
  }, async () => {
    const [south, hub] = [net().site('south'), net().site('hub')];
    const run = await PtyRun.start(hub.stateDir, ['link', 'status', '--watch']);
    await run.waitForTerminal('the first drawing', (t) => /NAME\s+ID\s+DIR/.test(t));
    assert.deepEqual(
      screen(run.terminal).map((l) => {
        const [name, , dir, peer, state] = l.split(/\s+/);
        return [name, dir, peer, state].join(' ');
      }),
      ['NAME DIR PEER STATE', 'south in south up'],
    );
    await south.cli(['link', 'delete', 'hub']);
    await run.waitForTerminal(
      'the drawing without the link',
      (t) => screen(t).join('\n') === 'no links',
    );
    run.type(CTRL_C);
    const done = await run.done;
    assert.equal(done.code, 0, done.terminal);
    assert.ok(count(done.terminal, '\x1b[H\x1b[2J') >= 2, 'each drawing clears the screen');
  });
});
