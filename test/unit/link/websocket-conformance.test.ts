import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { linkTlsOptions } from '../../../src/link/client.js';
import { LINK_PATH, LinkServer } from '../../../src/link/server.js';
import { silentLogger } from '../../../src/log.js';
import { type CertKey, createCa, createServerCert } from '../../../src/pki/index.js';
import { clientCert } from '../../helpers/pki.js';
import { withTimeout } from '../../helpers/wait.js';

// RFC 6455 close handling of the production acceptor (LinkServer with whichever WebSocket
// transport it runs), driven by a peer that writes its upgrade request and its frames as raw
// hex over real mutual TLS on 127.0.0.1, as ws's receiver checks them (5.5.1, 7.4): a 1-byte
// close payload and codes a peer may not send are answered with 1002, a reason that is not
// UTF-8 with 1007, and only a valid code is echoed.

const T = { timeout: 20_000 };

interface Pki {
  ca: CertKey;
  server: CertKey;
  client: CertKey;
}

/** Raw bytes written as hex, spaces allowed. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/ /g, ''), 'hex');
}

/** A client-to-server close frame: masked with the all-zero key, so the hex stays readable. */
function maskedClose(payloadHex: string): Buffer {
  const payload = hex(payloadHex);
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/** What the acceptor sent back after the 101, read until it closed the connection. */
interface Reply {
  /** The status code of the first frame if it was a close frame; 'empty' for no payload. */
  closeCode: number | 'empty' | undefined;
  /** How the transport reported the end to the router. */
  reported: { code: number; reason: string };
}

describe('WebSocket close conformance of the link acceptor (raw frames over mutual TLS)', () => {
  let pki: Pki;
  let server: LinkServer<string>;
  let port: number;
  let onEnd: (ended: { code: number; reason: string }) => void = () => undefined;

  before(async () => {
    const ca = await createCa('skiff test CA');
    const [srv, client] = await Promise.all([
      createServerCert(ca, { commonName: 'west', hosts: ['127.0.0.1'] }),
      clientCert(ca, 'east', 1),
    ]);
    pki = { ca, server: srv, client };
    server = new LinkServer<string>({
      host: '127.0.0.1',
      port: 0,
      certPem: pki.server.certPem,
      keyPem: pki.server.keyPem,
      caPem: pki.ca.certPem,
      handshakeTimeoutMs: 5_000,
      admission: { perSource: 10, total: 256, redeemsPerMinute: 60 },
      maxMessageSize: 256 * 1024,
      authorize: () => 'grant',
      onLink: (socket) => {
        const report = onEnd;
        socket.onMessage = () => undefined;
        socket.onClose = (code, reason) => report({ code, reason });
      },
      onRedeem: (_req, res) => res.writeHead(404).end(),
      logger: silentLogger,
    });
    await server.listen();
    port = server.port;
  }, T);
  after(() => server.close(), T);

  /** Upgrades by hand, writes `frames`, and reads what comes back until the end. */
  async function exchange(frames: Buffer): Promise<Reply> {
    const reported = new Promise<{ code: number; reason: string }>((resolve) => {
      onEnd = resolve;
    });
    const tls: TLSSocket = connect({
      host: '127.0.0.1',
      port,
      ca: pki.ca.certPem,
      cert: pki.client.certPem,
      key: pki.client.keyPem,
      ...linkTlsOptions,
    });
    try {
      await withTimeout(once(tls, 'secureConnect'), 10_000, 'the TLS handshake');
      tls.write(
        `GET ${LINK_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: Upgrade\r\n` +
          'upgrade: websocket\r\nsec-websocket-version: 13\r\n' +
          `sec-websocket-key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
      );
      const chunks: Buffer[] = [];
      let wrote = false;
      tls.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        const all = Buffer.concat(chunks);
        const end = all.indexOf('\r\n\r\n');
        if (!wrote && end >= 0) {
          assert.match(all.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 /);
          wrote = true;
          tls.write(frames);
        }
      });
      tls.on('error', () => undefined); // the acceptor may reset after its close frame
      await withTimeout(once(tls, 'close'), 10_000, 'the acceptor to close the connection');
      const all = Buffer.concat(chunks);
      const body = all.subarray(all.indexOf('\r\n\r\n') + 4);
      let closeCode: Reply['closeCode'];
      if (body.length >= 2 && body[0] === 0x88) {
        assert.equal(body[1]! & 0x80, 0, 'the acceptor masked its close frame');
        closeCode = (body[1]! & 0x7f) === 0 ? 'empty' : body.readUInt16BE(2);
      }
      return { closeCode, reported: await withTimeout(reported, 10_000, 'onClose') };
    } finally {
      tls.destroy();
    }
  }

  const refused: { name: string; payload: string; status: number }[] = [
    { name: 'a 1-byte close payload', payload: '03', status: 1002 },
    ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000].map((code) => ({
      name: `close code ${code}`,
      payload: code.toString(16).padStart(4, '0'),
      status: 1002,
    })),
    { name: 'a close reason of a lone 0xff', payload: '03e8 ff', status: 1007 },
    { name: 'a close reason cut inside a character', payload: '0fa1 e282', status: 1007 },
  ];
  for (const { name, payload, status } of refused) {
    it(`answers ${name} with ${status}, not an echo`, T, async () => {
      const reply = await exchange(maskedClose(payload));
      assert.equal(reply.closeCode, status);
      assert.notEqual(reply.reported.code, 1000, 'a refused close was reported as a normal one');
    });
  }

  for (const [code, reason] of [
    [1000, 'bye'],
    [1001, ''],
    [1011, 'h\u00e9 \u20ac'],
    [4001, 'x'],
  ] as const) {
    it(`echoes a valid close code ${code} and reports it with its reason`, T, async () => {
      const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
      payload.writeUInt16BE(code, 0);
      payload.write(reason, 2);
      const reply = await exchange(maskedClose(payload.toString('hex')));
      assert.equal(reply.closeCode, code);
      assert.deepEqual(reply.reported, { code, reason });
    });
  }

  it('answers a close frame without a status with 1000 or an empty close frame', T, async () => {
    const reply = await exchange(maskedClose(''));
    assert.ok(reply.closeCode === 1000 || reply.closeCode === 'empty', String(reply.closeCode));
    assert.equal(reply.reported.code, 1005);
  });
});
