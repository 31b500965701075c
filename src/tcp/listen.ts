import type { Server, Socket } from 'node:net';
import { describe, ErrorCode, SkiffError } from '../errors.js';

/**
 * Binds a server, turning the usual failures into messages a user can act on: a port in
 * use says which and what to do (`inUseHint`), anything else names the address.
 */
export function listenOn(
  server: Server,
  host: string,
  port: number,
  inUseHint: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new SkiffError(
              ErrorCode.PORT_IN_USE,
              `port ${port} on ${host} is already in use; ${inUseHint}`,
            )
          : new SkiffError(
              ErrorCode.INVALID_ARGUMENT,
              `cannot listen on ${host}:${port}: ${describe(err)}`,
              {
                cause: err,
              },
            ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Closes a client that was never joined to anything: FIN, then keep reading until the
 * client's own FIN, because closing with unread bytes would send it an RST instead.
 */
export function closeCleanly(socket: Socket): void {
  socket.removeAllListeners('data');
  socket.on('data', () => undefined);
  socket.once('end', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end();
  socket.resume();
}

/**
 * Resets a socket (RST), so its peer sees an abort. libuv refuses while the socket's
 * shutdown is pending (end() called, the FIN not out yet: until the next turn, or longer
 * behind queued bytes): uv_tcp_close_reset fails with EINVAL and Node drops the handle
 * without closing it, so neither RST nor, at times, FIN is sent, the descriptor leaks and
 * what the peer sends is read and thrown away. Such a socket is reset once its FIN is out.
 */
export function resetSocket(socket: Socket): void {
  if (socket.writableEnded && !socket.writableFinished && !socket.destroyed) {
    socket.once('finish', () => socket.resetAndDestroy());
    return;
  }
  socket.resetAndDestroy();
}
