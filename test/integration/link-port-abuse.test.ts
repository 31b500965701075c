/**
 * The link port is open to anyone, so a client that does not make progress must not hold
 * a connection on it: the TLS handshake and then the whole request (the WebSocket upgrade,
 * or a redeem with its body) must arrive within handshakeTimeoutMs. Hostile clients of
 * every kind are dropped in time, and the site still redeems tokens and links afterwards.
 */
import assert from 'node:assert/strict';
import { type Socket, connect as tcpConnect } from 'node:net';
import { after, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { linkSites, type TwoSites, twoSites } from '../helpers/pair.js';
import { withTimeout } from '../helpers/wait.js';

const HANDSHAKE_MS = 800;
/** A dropped connection must close by then: the deadline plus a scheduling margin. */
const CLOSED_BY_MS = HANDSHAKE_MS + 1500;

type Abuser = (port: number) => Socket;

/** Connects and, once TLS is up, runs `then` (no client certificate: anyone can do this). */
function tlsThen(port: number, then: (s: Socket) => void): Socket {
  const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  s.once('secureConnect', () => then(s));
  return s;
}

/** Sends `text` one byte every 100 ms: always active, never done. */
function drip(s: Socket, text: string): void {
  let i = 0;
  const timer = setInterval(() => {
    if (i >= text.length || s.destroyed) clearInterval(timer);
    else s.write(text[i++]!);
  }, 100);
  s.once('close', () => clearInterval(timer));
}

const abusers: Record<string, Abuser> = {
  'TCP, no TLS handshake': (port) => tcpConnect({ host: '127.0.0.1', port }),
  'TLS, then silence': (port) => tlsThen(port, () => {}),
  'TLS, then half the request headers': (port) =>
    tlsThen(port, (s) => s.write('GET /v1/link HTTP/1.1\r\nHost: x\r\n')),
  'TLS, then a redeem whose body never ends': (port) =>
    tlsThen(port, (s) =>
      s.write('POST /v1/redeem HTTP/1.1\r\nHost: x\r\ncontent-length: 400\r\n\r\n{"tok'),
    ),
  'TLS, then headers dripped a byte at a time': (port) =>
    tlsThen(port, (s) =>
      drip(s, `GET /v1/link HTTP/1.1\r\nHost: x\r\n${'x-pad: 1\r\n'.repeat(40)}`),
    ),
};

/** Resolves with how long the server took to close the connection. */
function closedAfter(s: Socket): Promise<number> {
  const t0 = Date.now();
  s.on('error', () => {});
  return withTimeout(
    new Promise<number>((resolve) => s.once('close', () => resolve(Date.now() - t0))),
    CLOSED_BY_MS,
    'the server to drop the connection',
  );
}

describe('hostile clients on the link port', { timeout: 90_000 }, () => {
  let sites: TwoSites | undefined;
  after(() => sites?.dispose(), { timeout: 30_000 });

  test('each is dropped within the handshake timeout, and linking still works', {
    timeout: 60_000,
  }, async (t) => {
    sites = await twoSites({ settings: { handshakeTimeoutMs: HANDSHAKE_MS, backoffMaxMs: 1000 } });
    const port = sites.a.linkPort;
    const sockets = Object.entries(abusers).map(([name, open]) => ({ name, socket: open(port) }));
    try {
      const times = await Promise.all(
        sockets.map(async ({ name, socket }) => {
          const ms = await closedAfter(socket).catch((err: Error) => {
            throw new Error(`${name}: ${err.message}`);
          });
          return `${name} ${ms} ms`;
        }),
      );
      t.diagnostic(`dropped: ${times.join('; ')}`);
    } finally {
      for (const { socket } of sockets) socket.destroy();
    }
    const link = await linkSites(sites.a, sites.b, sites.workDir);
    assert.equal(link.state, 'up');
  });
});
