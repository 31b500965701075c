import { connect, type Socket } from 'node:net';
import { ErrorCode, SkiffError } from '../errors.js';
import { resetSocket } from './listen.js';
import { tcpSocketOptions } from './socket-options.js';

/** Connects to a target, failing after timeoutMs (ErrorCode.TIMEOUT); the socket comes back paused. */
export function dialTarget(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...tcpSocketOptions });
    socket.pause();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new SkiffError(
          ErrorCode.TIMEOUT,
          `connect to ${host}:${port} timed out after ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
}

/** Joins two local sockets (listener and connector in the same site) with half-close and reset. */
export function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const reset = (other: Socket) => () => {
    if (!other.destroyed) resetSocket(other);
  };
  a.on('error', reset(b));
  b.on('error', reset(a));
  a.resume();
  b.resume();
}
