import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import {
  registerLinkSocket,
  WS_HEADROOM,
  wsTransport,
  zeroMask,
} from '../../../src/link/ws-transport.js';

/**
 * The pre-framed send path writes its own WebSocket frame headers straight to the socket.
 * A real ws peer must read exactly the messages sent, for every length encoding (7-bit,
 * 16-bit, 64-bit), masked (dialler, zero key) and unmasked (acceptor), interleaved with
 * ws's own sends, and ws must still close cleanly afterwards.
 */
describe('wsTransport pre-framed messages', () => {
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  let client: WebSocket;
  let accepted: WebSocket;
  const atServer: Buffer[] = [];
  const atClient: Buffer[] = [];

  before(async () => {
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        registerLinkSocket(ws, socket, false);
        accepted = ws;
        ws.on('message', (data: Buffer) => atServer.push(Buffer.from(data)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new WebSocket(`ws://127.0.0.1:${port}/`, {
      perMessageDeflate: false,
      generateMask: zeroMask,
    });
    client.once('upgrade', (res) => registerLinkSocket(client, res.socket, true));
    client.on('message', (data: Buffer) => atClient.push(Buffer.from(data)));
    await new Promise((resolve) => client.once('open', resolve));
    while (!accepted) await new Promise((resolve) => setImmediate(resolve));
  });

  after(async () => {
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.close(1000, 'done');
    await closed; // a clean close handshake: ws's framing state survived our writes
    wss.close();
    server.close();
  });

  const sizes = [0, 1, 125, 126, 65535, 65536, 300_000];

  /** Sends each payload with WS_HEADROOM spare bytes in front, as the outbox builds them. */
  async function sendAll(ws: WebSocket, payloads: Buffer[]): Promise<void> {
    const transport = wsTransport(ws);
    assert.equal(transport.headroom, WS_HEADROOM);
    await Promise.all(
      payloads.map((payload, i) => {
        const buf = Buffer.alloc(WS_HEADROOM + payload.length, 0xee);
        payload.copy(buf, WS_HEADROOM);
        return new Promise<void>((resolve, reject) => {
          transport.send(buf, (err) => (err ? reject(err) : resolve()), WS_HEADROOM);
          if (i === 2) ws.send(Buffer.from('via ws.send')); // ws's own frames interleave
        });
      }),
    );
  }

  async function received(list: Buffer[], n: number): Promise<void> {
    const deadline = Date.now() + 5000;
    while (list.length < n && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('dialler to acceptor: masked with the zero key', async () => {
    const payloads = sizes.map((n) => randomBytes(n));
    await sendAll(client, payloads);
    await received(atServer, payloads.length + 1);
    const expected = [...payloads.slice(0, 3), Buffer.from('via ws.send'), ...payloads.slice(3)];
    assert.deepEqual(atServer, expected);
  });

  it('acceptor to dialler: unmasked', async () => {
    const payloads = sizes.map((n) => randomBytes(n));
    await sendAll(accepted, payloads);
    await received(atClient, payloads.length + 1);
    const expected = [...payloads.slice(0, 3), Buffer.from('via ws.send'), ...payloads.slice(3)];
    assert.deepEqual(atClient, expected);
  });

  it('without headroom (a lone control frame) it falls back to ws.send', async () => {
    atServer.length = 0;
    const payload = randomBytes(70_000);
    await new Promise<void>((resolve, reject) =>
      wsTransport(client).send(payload, (err) => (err ? reject(err) : resolve())),
    );
    await received(atServer, 1);
    assert.deepEqual(atServer, [payload]);
  });
});
