/**
 * A TCP proxy that delays every chunk by a fixed time in both directions, order kept: the
 * userspace stand-in for `tc netem delay` (these kernels have no netem). Run as
 * `node delay-proxy-main.js LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS`
 * (inside a network namespace with `ip netns exec`); prints `listening` when bound. Each
 * direction stops reading while more than HIGH_WATER bytes wait, so it holds a bounded amount.
 */
import { connect, createServer, type Socket } from 'node:net';

const [listenHost, listenPort, targetHost, targetPort, delayMs] = process.argv.slice(2);
const DELAY = Number(delayMs);
const HIGH_WATER = 8 * 1024 * 1024;

/** Copies `from` to `to`, each chunk leaving DELAY ms after it arrived; FIN follows the data. */
function delayed(from: Socket, to: Socket): void {
  let waiting = 0;
  from.on('data', (chunk: Buffer) => {
    waiting += chunk.length;
    if (waiting > HIGH_WATER) from.pause();
    setTimeout(() => {
      waiting -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      if (waiting <= HIGH_WATER / 2 && from.isPaused()) from.resume();
    }, DELAY);
  });
  from.once('end', () => setTimeout(() => to.end(), DELAY));
}

const server = createServer({ allowHalfOpen: true }, (client) => {
  const upstream = connect({ host: targetHost, port: Number(targetPort), allowHalfOpen: true });
  const drop = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', drop).on('close', drop);
  upstream.on('error', drop).on('close', drop);
  delayed(client, upstream);
  delayed(upstream, client);
});
server.listen({ host: listenHost, port: Number(listenPort) }, () => {
  process.stdout.write('listening\n');
});
