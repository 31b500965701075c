import type { Socket } from 'node:net';

const EMPTY = Buffer.alloc(0);

/**
 * Whether the 'end' a socket just emitted was the peer's FIN or a reset in disguise. libuv
 * reports a RST that arrives while unread bytes wait in the receive queue as EOF: epoll says
 * POLLHUP, the read that drains the queue comes back short, and libuv ends the stream
 * without the read that would have returned ECONNRESET (uv__stream_io). An empty write
 * tells them apart: on a reset socket the kernel fails it (ECONNRESET or EPIPE), after a FIN
 * (CLOSE_WAIT) it succeeds and sends nothing. It needs the socket's write side open: with
 * it ended or destroyed the answer is 'unknown'.
 */
export function probeEnd(socket: Socket): Promise<'fin' | 'reset' | 'unknown'> {
  if (socket.destroyed || socket.writableEnded) return Promise.resolve('unknown');
  return new Promise((resolve) => {
    socket.write(EMPTY, (err) => resolve(err ? 'reset' : 'fin'));
  });
}
