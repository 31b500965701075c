/**
 * A bridge from a filesystem unix socket to a TCP address, so a test in the root network
 * namespace reaches a listener inside a namespace it made without any address or veth of
 * its own (filesystem sockets are not network-namespaced). Run as
 * `ip netns exec NS node unix-bridge-main.js UNIX_PATH HOST:PORT`; prints `listening` once
 * bound. Each accepted unix connection gets its own TCP connection; bytes flow both ways
 * with backpressure (pipe), a FIN is passed on as a half-close and a reset as a reset: a
 * unix socket closed outright (a write into it fails) resets the TCP side, and a TCP reset
 * closes the unix socket outright (the test client's probe sees EPIPE, socket-end.ts).
 */
import { connect, createServer } from 'node:net';
import { probeEnd } from './socket-end.js';

const [unixPath, target = ''] = process.argv.slice(2);
const colon = target.lastIndexOf(':');
const host = target.slice(0, colon);
const port = Number(target.slice(colon + 1));
if (unixPath === undefined || colon <= 0 || !Number.isInteger(port)) {
  process.stderr.write('usage: unix-bridge-main.js UNIX_PATH HOST:PORT\n');
  process.exit(2);
}

const server = createServer({ allowHalfOpen: true }, (client) => {
  const upstream = connect({ host, port, allowHalfOpen: true, noDelay: true });
  const reset = (): void => {
    client.destroy();
    upstream.resetAndDestroy();
  };
  client.on('error', reset);
  upstream.on('error', reset);
  client.pipe(upstream, { end: false });
  upstream.pipe(client, { end: false });
  // An 'end' is a FIN or a close in disguise: the probe (an empty write) tells them apart.
  client.once('end', () => {
    void probeEnd(client).then((kind) => (kind === 'reset' ? reset() : upstream.end()));
  });
  upstream.once('end', () => {
    void probeEnd(upstream).then((kind) => (kind === 'reset' ? reset() : client.end()));
  });
});
server.listen({ path: unixPath }, () => {
  process.stdout.write('listening\n');
});
