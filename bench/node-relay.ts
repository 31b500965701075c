/**
 * The Node floor: the least a Node TLS tunnel can do, to tell what Node itself costs from
 * what skiff's code costs. One process per side, one TLS connection per client connection
 * (as stunnel), `pipe()` both ways, no framing, no multiplexing:
 *   node dist/bench/node-relay.js client <certDir> <plainPort>:<tlsPort>...
 *   node dist/bench/node-relay.js server <certDir> <tlsPort>:<targetPort>...
 * Certificates are stunnel.ts's (makeCerts). Started by bench/floor.ts.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';

const [role, certDir, ...pairs] = process.argv.slice(2);
if (!role || !certDir || pairs.length === 0) {
  throw new Error('usage: node-relay.js client|server <certDir> <listenPort>:<toPort>...');
}
const read = (name: string) => readFileSync(join(certDir, name));
const secure = {
  ca: read('ca.pem'),
  minVersion: 'TLSv1.3' as const,
  ciphersuites: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384',
};

function splice(a: Socket, b: Socket): void {
  a.setNoDelay(true);
  b.setNoDelay(true);
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

for (const [listenPort, toPort] of pairs.map((p) => p.split(':').map(Number))) {
  if (role === 'client') {
    createServer((plain) => {
      const link = tls.connect({
        ...secure,
        host: '127.0.0.1',
        port: toPort,
        servername: 'server',
        cert: read('client.pem'),
        key: read('client.key'),
      });
      splice(plain, link);
    }).listen(listenPort, '127.0.0.1');
  } else {
    tls
      .createServer(
        { ...secure, cert: read('server.pem'), key: read('server.key'), requestCert: true },
        (link) => splice(link, connect({ host: '127.0.0.1', port: toPort })),
      )
      .listen(listenPort, '127.0.0.1');
  }
}
