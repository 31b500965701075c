import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import {
  type CertKey,
  certCommonName,
  createCa,
  createServerCert,
} from '../../../src/pki/index.js';
import { clientCert } from '../../helpers/pki.js';

// A real TLS 1.3 handshake with mutual authentication: proof that what src/pki makes is
// accepted by OpenSSL as Node uses it, not only by node-forge.

async function startServer(
  ca: CertKey,
): Promise<{ server: tls.Server; port: number; peers: string[]; refused: string[] }> {
  const cert = await createServerCert(ca, { commonName: 'west', hosts: ['127.0.0.1'] });
  const peers: string[] = [];
  const refused: string[] = [];
  const server = tls.createServer(
    {
      key: cert.keyPem,
      cert: cert.certPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    },
    (socket) => {
      const der = socket.getPeerCertificate().raw.toString('base64');
      peers.push(
        certCommonName(`-----BEGIN CERTIFICATE-----\n${der}\n-----END CERTIFICATE-----\n`),
      );
      socket.end('hello');
    },
  );
  server.on('tlsClientError', (err) => refused.push(err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, peers, refused };
}

function connect(
  port: number,
  ca: CertKey,
  client: CertKey,
): Promise<{ data: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: ca.certPem,
      key: client.keyPem,
      cert: client.certPem,
      minVersion: 'TLSv1.3',
      checkServerIdentity: (host, cert) => tls.checkServerIdentity(host, cert),
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('end', () => resolve({ data, socket }));
    socket.on('error', reject);
  });
}

test('a server cert and a signCsr client cert complete a mutual TLS 1.3 handshake', async (t) => {
  const ca = await createCa('skiff site CA west');
  const { server, port, peers } = await startServer(ca);
  t.after(() => server.close());
  const client = await clientCert(ca, 'east-site-id');
  const { data, socket } = await connect(port, ca, client);
  assert.equal(data, 'hello');
  assert.equal(socket.authorized, true);
  assert.equal(socket.getProtocol(), 'TLSv1.3');
  assert.deepEqual(peers, ['east-site-id']);
});

test('a client cert from another CA is refused by the server', async (t) => {
  const ca = await createCa('skiff site CA west');
  const other = await createCa('skiff site CA mallory');
  const { server, port, peers, refused } = await startServer(ca);
  t.after(() => server.close());
  const client = await clientCert(other, 'mallory');
  // In TLS 1.3 the client finishes its handshake before the server checks the client
  // certificate, so the refusal arrives afterwards: as an alert (an error) or a close.
  const outcome = await connect(port, ca, client).then(
    (r) => `data:${r.data}`,
    (err: Error) => `error:${err.message}`,
  );
  t.diagnostic(outcome);
  assert.match(outcome, /^(error:.*(unknown ca|alert)|data:)$/i);
  assert.deepEqual(peers, []);
  // Node reports the refused handshake as a client error (its text varies by version).
  assert.ok(refused.length >= 1, 'server saw a failed handshake');
});

test('a client pinned to another CA refuses the server', async (t) => {
  const ca = await createCa('skiff site CA west');
  const other = await createCa('skiff site CA east');
  const { server, port } = await startServer(ca);
  t.after(() => server.close());
  const client = await clientCert(ca, 'east-site-id');
  await assert.rejects(connect(port, other, client), /self.signed|unable to verify|certificate/i);
});
