import { connect, createServer, type Server } from 'node:net';

/** A TCP server that echoes one byte and closes: the target of the connection-rate workload. */
export function startEchoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.setNoDelay(true);
    socket.once('data', (chunk: Buffer) => socket.end(chunk.subarray(0, 1)));
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, port: (server.address() as { port: number }).port });
    });
  });
}

/** One connection: connect, send 1 byte, await the echo, close. */
function once(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    let echoed = false;
    socket.once('connect', () => socket.write('x'));
    socket.once('data', () => {
      echoed = true;
      socket.end();
    });
    socket.once('error', reject);
    socket.once('close', () => (echoed ? resolve() : reject(new Error('closed before echo'))));
  });
}

/**
 * New connections per second with `concurrency` clients, each doing connect + 1-byte echo
 * + close in a loop for `seconds`. Failed connections are counted, not retried.
 */
export async function connectionRate(
  port: number,
  seconds: number,
  concurrency = 50,
): Promise<{ perSecond: number; failed: number }> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      try {
        await once(port);
        done++;
      } catch {
        failed++;
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { perSecond: done / ((performance.now() - start) / 1000), failed };
}
