import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Server as HttpsServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { dialLink, linkTlsOptions } from '../../../src/link/client.js';
import { LINK_PATH, LinkServer } from '../../../src/link/server.js';
import type { LinkTransport } from '../../../src/link/websocket/transport.js';
import { maxLinkMessage } from '../../../src/link/websocket/ws-socket.js';
import { silentLogger } from '../../../src/log.js';
import { type CertKey, createCa, createServerCert } from '../../../src/pki/index.js';
import { clientCert } from '../../helpers/pki.js';
import { withTimeout } from '../../helpers/wait.js';

// The link's transport as production builds it (dialLink, LinkServer) against a plain ws peer
// over real mutual TLS on 127.0.0.1, in both roles: byte-exact messages with and without
// reserved bytes in front, ping/pong, the close handshake both ways, and refusals.

const T = { timeout: 20_000 };

// ---------------------------------------------------------------------------------------
// Interop with the ws package over mutual TLS.

interface Pki {
  ca: CertKey;
  server: CertKey;
  client: CertKey;
}

async function makePki(): Promise<Pki> {
  const ca = await createCa('skiff test CA');
  const [server, client] = await Promise.all([
    createServerCert(ca, { commonName: 'west', hosts: ['127.0.0.1'] }),
    clientCert(ca, 'east', 1),
  ]);
  return { ca, server, client };
}

/** The link server's TLS settings: the client must present a certificate from the CA. */
function serverTls(pki: Pki) {
  return {
    key: pki.server.keyPem,
    cert: pki.server.certPem,
    ca: pki.ca.certPem,
    requestCert: true,
    rejectUnauthorized: true,
    ...linkTlsOptions,
  };
}

function clientTls(pki: Pki) {
  return {
    ca: pki.ca.certPem,
    cert: pki.client.certPem,
    key: pki.client.keyPem,
    ...linkTlsOptions,
  };
}

/** Listens on 127.0.0.1:0; close() destroys every connection it accepted, upgraded or not. */
async function listen(server: HttpsServer): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Whole messages as one end received them, with a way to wait for the nth. */
class Inbox {
  readonly messages: Buffer[] = [];
  private waiters: (() => void)[] = [];

  add(message: Buffer): void {
    this.messages.push(message);
    for (const wake of this.waiters.splice(0)) wake();
  }

  async until(count: number, what: string): Promise<Buffer[]> {
    const arrived = async () => {
      while (this.messages.length < count) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    };
    await withTimeout(arrived(), 10_000, `${count} messages at ${what}`);
    return this.messages;
  }
}

/** Our end of a connection: its transport, what it received, and how it ended. */
class OurEnd {
  readonly inbox = new Inbox();
  readonly closed: Promise<{ code: number; reason: string }>;
  private pieces: Buffer[] = [];

  constructor(readonly link: LinkTransport) {
    link.onMessage = (buf, start, end, last) => {
      this.pieces.push(Buffer.from(buf.subarray(start, end)));
      if (!last) return;
      this.inbox.add(Buffer.concat(this.pieces));
      this.pieces = [];
    };
    this.closed = new Promise((resolve) => {
      link.onClose = (code, reason) => resolve({ code, reason });
    });
  }
}

/** A connection between our transport and a ws WebSocket, whichever side dialled. */
interface Pair {
  ours: OurEnd;
  theirs: WebSocket;
  theirInbox: Inbox;
}

function collect(ws: WebSocket): Inbox {
  const inbox = new Inbox();
  ws.on('message', (data: RawData, isBinary: boolean) => {
    assert.ok(isBinary, 'ws received a text message');
    inbox.add(data as Buffer);
  });
  return inbox;
}

function fingerprint(message: Buffer): string {
  return `${message.length} bytes, sha256 ${createHash('sha256').update(message).digest('hex')}`;
}

const LENGTHS = [0, 100, 126, 65536, 262144];
const MAX_MESSAGE_SIZE = 256 * 1024;
const MAX_MESSAGE = maxLinkMessage(MAX_MESSAGE_SIZE);

/** Sends each payload through the transport's send, as the outbox would, and waits for every cb. */
async function sendOurs(link: LinkTransport, payloads: Buffer[], reserved: number): Promise<void> {
  await Promise.all(
    payloads.map((payload) => {
      const message = Buffer.alloc(reserved + payload.length, 0xee);
      payload.copy(message, reserved);
      return new Promise<void>((resolve, reject) => {
        link.send(message, (err) => (err ? reject(err) : resolve()), reserved);
        assert.ok(message.subarray(reserved).equals(payload), 'send changed the payload bytes');
      });
    }),
  );
}

/** The same checks for both roles: `connect` makes a fresh pair for each test. */
function exchangeTests(connect: () => Promise<Pair>): void {
  async function pair(t: TestContext): Promise<Pair> {
    const p = await connect();
    t.after(() => {
      p.ours.link.terminate();
      p.theirs.terminate();
    });
    return p;
  }

  for (const reserved of [14, 0]) {
    it(`our messages reach ws byte for byte (reserved = ${reserved})`, T, async (t) => {
      const { ours, theirInbox } = await pair(t);
      const payloads = LENGTHS.map((n) => randomBytes(n));
      await sendOurs(ours.link, payloads, reserved);
      const got = await theirInbox.until(payloads.length, 'ws');
      assert.deepEqual(got.map(fingerprint), payloads.map(fingerprint));
    });
  }

  it('ws messages reach us byte for byte', T, async (t) => {
    const { ours, theirs } = await pair(t);
    const payloads = LENGTHS.map((n) => randomBytes(n));
    for (const payload of payloads) theirs.send(payload, { binary: true });
    const got = await ours.inbox.until(payloads.length, 'our end');
    assert.deepEqual(got.map(fingerprint), payloads.map(fingerprint));
  });

  it('answers a ws ping with a pong carrying the same payload', T, async (t) => {
    const { theirs } = await pair(t);
    for (const payload of [Buffer.from('are you there'), randomBytes(125), Buffer.alloc(0)]) {
      const pong = once(theirs, 'pong');
      theirs.ping(payload);
      const [data] = (await withTimeout(pong, 10_000, 'the pong')) as [Buffer];
      assert.ok(data.equals(payload), `pong for a ${payload.length}-byte ping`);
    }
  });

  it("our close(1000, 'bye') reaches ws, and both ends finish", T, async (t) => {
    const { ours, theirs } = await pair(t);
    const theirClose = once(theirs, 'close');
    ours.link.close(1000, 'bye');
    assert.equal(ours.link.isOpen, false);
    const [code, reason] = (await withTimeout(theirClose, 10_000, 'ws close')) as [number, Buffer];
    assert.equal(code, 1000);
    assert.equal(reason.toString(), 'bye');
    const ended = await withTimeout(ours.closed, 10_000, 'our onClose');
    assert.equal(ended.code, 1000);
    await assert.rejects(
      new Promise<void>((resolve, reject) =>
        ours.link.send(Buffer.from('late'), (err) => (err ? reject(err) : resolve())),
      ),
      /closed/,
    );
  });

  it("ws close(4001, 'x') reaches our onClose, and ws sees the echo", T, async (t) => {
    const { ours, theirs } = await pair(t);
    const theirClose = once(theirs, 'close');
    theirs.close(4001, 'x');
    assert.deepEqual(await withTimeout(ours.closed, 10_000, 'our onClose'), {
      code: 4001,
      reason: 'x',
    });
    const [code] = (await withTimeout(theirClose, 10_000, 'ws close')) as [number, Buffer];
    assert.equal(code, 4001);
    assert.equal(ours.link.isOpen, false);
  });
}

describe('WebSocket interop with the ws package over mutual TLS', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki();
  }, T);

  describe('our dialler (dialLink) against a ws server', () => {
    let wss: WebSocketServer;
    let server: { port: number; close(): Promise<void> };
    before(async () => {
      const https = new HttpsServer(serverTls(pki));
      wss = new WebSocketServer({ server: https, maxPayload: MAX_MESSAGE });
      server = await listen(https);
    }, T);
    after(async () => {
      wss.close();
      await server.close();
    }, T);

    exchangeTests(async () => {
      const accepted = once(wss, 'connection');
      const ours = new OurEnd(await dial(`wss://127.0.0.1:${server.port}${LINK_PATH}`));
      const [theirs] = (await withTimeout(accepted, 10_000, 'ws connection')) as [WebSocket];
      return { ours, theirs, theirInbox: collect(theirs) };
    });
  });

  describe('a ws dialler against our acceptor (LinkServer)', () => {
    let server: LinkServer<string>;
    let port: number;
    let onAccepted: (end: OurEnd) => void = () => undefined;
    before(async () => {
      server = new LinkServer<string>({
        host: '127.0.0.1',
        port: 0,
        certPem: pki.server.certPem,
        keyPem: pki.server.keyPem,
        caPem: pki.ca.certPem,
        handshakeTimeoutMs: 5_000,
        admission: { perSource: 10, total: 256, redeemsPerMinute: 60 },
        maxMessageSize: MAX_MESSAGE_SIZE,
        authorize: () => 'grant',
        onLink: (socket) => onAccepted(new OurEnd(socket)),
        onRedeem: (_req, res) => res.writeHead(404).end(),
        logger: silentLogger,
      });
      await server.listen();
      port = server.port;
    }, T);
    after(() => server.close(), T);

    exchangeTests(async () => {
      const accepted = new Promise<OurEnd>((resolve) => {
        onAccepted = resolve;
      });
      // ws offers permessage-deflate by default: the acceptor must decline it.
      const theirs = new WebSocket(`wss://127.0.0.1:${port}${LINK_PATH}`, clientTls(pki));
      const theirInbox = collect(theirs);
      await withTimeout(once(theirs, 'open'), 10_000, 'ws open');
      assert.equal(theirs.extensions, '');
      const ours = await withTimeout(accepted, 10_000, 'our acceptor');
      return { ours, theirs, theirInbox };
    });

    it('answers 400 to an upgrade without Sec-WebSocket-Key', T, async () => {
      const req = request({
        ...clientTls(pki),
        host: '127.0.0.1',
        port,
        path: LINK_PATH,
        agent: false,
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13' },
      });
      req.end();
      const [res] = await withTimeout(once(req, 'response'), 10_000, 'the answer');
      let body = '';
      for await (const chunk of res) body += chunk;
      assert.equal(res.statusCode, 400);
      assert.match(body, /Sec-WebSocket-Key/);
    });
  });

  it('a dial to an HTTPS endpoint that answers 404 fails naming the status', T, async () => {
    const https = new HttpsServer(serverTls(pki), (_req, res) => {
      res.writeHead(404).end('no such endpoint');
    });
    const server = await listen(https);
    try {
      await assert.rejects(dial(`wss://127.0.0.1:${server.port}${LINK_PATH}`), /HTTP 404/);
    } finally {
      await server.close();
    }
  });

  function dial(url: string): Promise<LinkTransport> {
    return dialLink({
      url,
      caPem: pki.ca.certPem,
      certPem: pki.client.certPem,
      keyPem: pki.client.keyPem,
      handshakeTimeoutMs: 5_000,
      maxMessageSize: MAX_MESSAGE_SIZE,
    });
  }
});
