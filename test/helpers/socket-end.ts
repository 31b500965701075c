import { readFileSync } from 'node:fs';
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

/** How a socket's life ended, seen from its end with every 'end' probed. */
export interface SocketEnd {
  /** The peer's FIN arrived (an 'end' the probe confirmed). */
  fin: boolean;
  /** The first error, or 'RST reported as EOF' for an 'end' the probe showed to be a reset. */
  reset: string | undefined;
  /** An 'end' that was a reset. */
  disguisedReset: boolean;
}

export interface ObserveOptions {
  /** After a FIN, whether the exchange is complete (then the socket is closed at once). */
  complete?: () => boolean;
  /**
   * After a FIN before completion, how long to keep the socket open for a reset that may
   * follow (a writer keeps writing into a dead peer and provokes one). Default 1 s.
   */
  graceMs?: number;
}

/**
 * Watches `socket` until it closes: records errors, probes each 'end', and destroys the
 * socket once its end is known. The caller must not half-close the socket (the probe writes).
 */
export function observeEnd(
  socket: Socket,
  { complete = () => false, graceMs = 1000 }: ObserveOptions = {},
): Promise<SocketEnd> {
  const seen: SocketEnd = { fin: false, reset: undefined, disguisedReset: false };
  return new Promise((resolve) => {
    socket.on('error', (err: NodeJS.ErrnoException) => {
      seen.reset ??= err.code ?? err.message;
    });
    socket.once('end', () => {
      void probeEnd(socket).then((kind) => {
        if (kind === 'fin') seen.fin = true;
        else {
          seen.disguisedReset = kind === 'reset';
          seen.reset ??= kind === 'reset' ? 'RST reported as EOF' : 'end after local end';
        }
        if (kind === 'fin' && !complete() && seen.reset === undefined) {
          setTimeout(() => socket.destroy(), graceMs).unref();
        } else socket.destroy();
      });
    });
    socket.once('close', () => resolve(seen));
  });
}

/** A loopback TCP connection's entry in /proc/net/tcp (its state and unread bytes), if listed. */
export function tcpEntry(
  localPort: number | undefined,
  remotePort: number | undefined,
): { state: number; unread: number } | undefined {
  if (localPort === undefined || remotePort === undefined) return undefined;
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hex(localPort)}`;
  const remote = `0100007F:${hex(remotePort)}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, l, r, st, queues] = line.trim().split(/\s+/);
    if (l === local && r === remote) {
      return {
        state: Number.parseInt(st!, 16),
        unread: Number.parseInt(queues!.split(':')[1]!, 16),
      };
    }
  }
  return undefined;
}
