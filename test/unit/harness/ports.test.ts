/**
 * The port helper the tests pick router ports with (test/helpers/ports.ts): a port taken by
 * another process between the pick and its use is retried on another port, a bounded number
 * of times; other failures are not retried. Before, a test picked a port and used it once,
 * and a port taken in between failed the test ("port ... already in use").
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { SkiffError } from '../../../src/errors.js';
import { listenOn } from '../../../src/tcp/listen.js';
import { PortGrabber } from '../../helpers/port-grabber.js';
import {
  PORT_ATTEMPTS,
  PortTaken,
  pickPort,
  saysPortInUse,
  setPickHook,
  withFreePort,
} from '../../helpers/ports.js';

const T = { timeout: 30_000 };

/** Binds 127.0.0.1:port with skiff's own listenOn; its in-use refusal becomes PortTaken. */
async function bindOrTaken(port: number, servers: Server[]): Promise<number> {
  const server = createServer();
  try {
    await listenOn(server, '127.0.0.1', port, 'pick another');
  } catch (err) {
    if (err instanceof SkiffError && saysPortInUse(err.message, port)) {
      throw new PortTaken(port, err.message);
    }
    throw err;
  }
  servers.push(server);
  return port;
}

describe('withFreePort', () => {
  let grabber: PortGrabber;
  const servers: Server[] = [];
  before(() => {
    grabber = PortGrabber.start();
  });
  afterEach(() => setPickHook(undefined));
  after(async () => {
    for (const server of servers) server.close();
    await grabber.stop();
  }, T);

  /** The next `count` picks are taken by the grabber process right after the pick. */
  function grabNextPicks(count: number): number[] {
    const grabbed: number[] = [];
    setPickHook(async (port) => {
      if (grabbed.length >= count) return;
      grabbed.push(port);
      await grabber.grab(port);
    });
    return grabbed;
  }

  test('a port another process takes between pick and use is replaced by another', T, async () => {
    const grabbed = grabNextPicks(1);
    const port = await withFreePort((p) => bindOrTaken(p, servers));
    assert.equal(grabbed.length, 1);
    assert.notEqual(port, grabbed[0], 'bound on a second port');
  });

  test('without the retry (one pick, one use: the old helper) the same race fails', T, async () => {
    const grabbed = grabNextPicks(1);
    await assert.rejects(
      withFreePort((p) => bindOrTaken(p, servers), { attempts: 1 }),
      (err: Error) => saysPortInUse(String((err.cause as Error).message), grabbed[0]!),
    );
  });

  test('gives up after PORT_ATTEMPTS taken ports, naming each', T, async () => {
    const grabbed = grabNextPicks(PORT_ATTEMPTS);
    await assert.rejects(
      withFreePort((p) => bindOrTaken(p, servers)),
      (err: Error) => {
        assert.equal(grabbed.length, PORT_ATTEMPTS);
        for (const port of grabbed) assert.match(err.message, new RegExp(`\\b${port}\\b`));
        return true;
      },
    );
  });

  test('another failure is not retried', T, async () => {
    let uses = 0;
    await assert.rejects(
      withFreePort(async () => {
        uses++;
        throw new Error('not a port problem');
      }),
      /not a port problem/,
    );
    assert.equal(uses, 1);
  });

  test('a port picked before (written into a site) is the first one tried', T, async () => {
    const first = await pickPort();
    const tried: number[] = [];
    await withFreePort(async (p) => tried.push(p), { first });
    assert.deepEqual(tried, [first]);
  });
});

describe('saysPortInUse', () => {
  test('matches skiff’s refusal for that port only', T, async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const err = await listenOn(createServer(), '127.0.0.1', port, 'hint').then(
        () => assert.fail('bound a port in use'),
        (e: Error) => e,
      );
      assert.equal(saysPortInUse(`skiff: ${err.message}\n`, port), true);
      assert.equal(saysPortInUse(err.message, port + 1), false);
      assert.equal(saysPortInUse(`port ${port}0 on 127.0.0.1 is already in use`, port), false);
    } finally {
      holder.close();
    }
  });
});
