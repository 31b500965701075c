/**
 * Proves the CLI's error contract for the common mistakes, and that a link to a dead peer
 * reports itself: `listener create` on a port in use says the listener is retrying on that
 * port (it binds once the port frees: cli-router-listeners.test.ts); every command without a running router (never started, or killed
 * and leaving its socket behind) says no router is running; a link whose peer is down shows
 * state "down" with its last error and keeps being retried in the background.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ListenerInfo } from '../../src/admin/api.js';
import { ErrorCode } from '../../src/errors.js';
import { assertCliError, assertCliJsonError } from '../helpers/cli.js';
import {
  awaitLinkUp,
  findLink,
  type LinkedSites,
  SITE_A,
  twoLinkedSites,
} from '../helpers/pair.js';
import { pickPort } from '../helpers/ports.js';
import { RouterProcess } from '../helpers/router.js';
import { startServer, type TcpServer } from '../helpers/tcp.js';
import { Cleanup, pollUntil, withTimeout } from '../helpers/wait.js';

const NO_ROUTER = /no router|not running/i;

describe('errors the CLI reports', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run(), { timeout: 30_000 });

  test('listener create on a port already in use: created, and says it is retrying on that port', {
    timeout: 45_000,
  }, async () => {
    const router = await RouterProcess.started({ name: 'site-e' });
    cleanup.add(() => router.dispose());
    const blocker: TcpServer = await startServer(() => {});
    cleanup.add(() => blocker.close());

    const result = await router.cli(['listener', 'create', 'busy', '--port', String(blocker.port)]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`retrying: port ${blocker.port}\\b.*in use`));
    const [listener] = await router.json<ListenerInfo[]>(['listener', 'list']);
    assert.equal(listener?.state, 'retrying');
    assert.match(listener?.error ?? '', new RegExp(`\\b${blocker.port}\\b`));
  });

  test('any command with no router running says so and changes nothing (never started; killed with a stale socket)', {
    timeout: 90_000,
  }, async () => {
    const router = await RouterProcess.create({ name: 'site-f' }); // site created, router not started
    cleanup.add(() => router.dispose());
    const tokenFile = join(router.stateDir, 'never-written.yaml');
    const commands = [
      ['status'],
      ['-o', 'json', 'status'],
      ['link', 'status'],
      ['link', 'delete', 'nothing'],
      ['listener', 'list'],
      ['listener', 'create', 'svc', '--port', String(await pickPort())], // refused before any bind
      ['expose', 'svc', '--target', '127.0.0.1:9'],
      ['unexpose', 'svc'],
      ['token', 'create', tokenFile],
    ];
    const check = async (when: string): Promise<void> => {
      const results = await Promise.all(commands.map((args) => router.cli(args)));
      for (const result of results) {
        if (result.command.includes(' -o json ')) {
          const { message } = assertCliJsonError(result, ErrorCode.NO_ROUTER);
          assert.match(message, NO_ROUTER);
        } else assertCliError(result, NO_ROUTER);
      }
      assert.equal(existsSync(tokenFile), false, `${when}: no token file written`);
    };
    await check('never started');

    await router.start();
    await router.kill(); // SIGKILL: the admin socket file may be left behind
    await check('after SIGKILL');
  });

  test('a link whose peer is down shows "down" with a lastError, and is retried in the background', {
    timeout: 60_000,
  }, async (t) => {
    const sites: LinkedSites = await twoLinkedSites({ settings: { backoffMaxMs: 1000 } });
    cleanup.add(() => sites.dispose());
    const { a, b } = sites;
    const exit = await a.stop();
    assert.equal(exit.code, 0);

    const down = await pollUntil(
      'the link to show down with a lastError at the dialler',
      async () => {
        const link = await findLink(b, SITE_A);
        return (
          link?.state === 'down' &&
          typeof link.lastError === 'string' &&
          link.lastError !== '' &&
          link
        );
      },
    );
    t.diagnostic(
      `link status while the peer is down: state=${down.state} lastError=${down.lastError}`,
    );

    // Retried: something listening on the peer's link port sees the dialler come, again and again.
    const standIn = await startServer((socket) => socket.destroy(), { port: a.linkPort });
    try {
      await withTimeout(standIn.connection(2), 15_000, 'two reconnect attempts from the dialler');
    } finally {
      await standIn.close();
    }

    // And once the peer is back, the link comes up with no command.
    const sinceIssuer = a.mark();
    const sinceDialler = b.mark();
    await a.start();
    await awaitLinkUp(a, b, SITE_A, { sinceIssuer, sinceDialler, timeoutMs: 20_000 });
  });
});
