import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/**
 * A target in its own process (the bench already holds one end of every connection, and
 * 2 x 10,000 sockets would pass this machine's descriptor limit): echoes what it reads.
 */
function startHoldServer(): Promise<{ port: number; stop(): void }> {
  const code =
    "require('net').createServer((s) => { s.on('data', (d) => s.write(d)); s.on('error', () => {}); })" +
    ".listen(0, '127.0.0.1', function () { process.send(this.address().port); })";
  const child = spawn(process.execPath, ['-e', code], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (port) => resolve({ port: port as number, stop: () => child.kill() }));
    child.once('exit', (code) => reject(new Error(`idle-stream target exited with ${code}`)));
  });
}

/** Opens one connection and waits for a 1-byte echo: the stream is open end to end. */
function openOne(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => socket.write('x'));
    socket.once('data', () => resolve(socket));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the echo')));
  });
}

/**
 * RSS of the routers with `count` idle streams open on one link: each is a client
 * connection at the listener's router and a target connection at the connector's.
 */
export async function idleStreamsRss(
  expose: (address: string, port: number) => Promise<number>,
  pids: () => number[],
  rssMiB: (pid: number) => number,
  count: number,
): Promise<number[]> {
  const target = await startHoldServer();
  const sockets: Socket[] = [];
  try {
    const port = await expose('idle', target.port);
    for (let i = 0; i < count; i += 200) {
      const batch = Math.min(200, count - i);
      sockets.push(...(await Promise.all(Array.from({ length: batch }, () => openOne(port)))));
    }
    return pids().map(rssMiB);
  } finally {
    for (const s of sockets) s.destroy();
    target.stop();
  }
}
