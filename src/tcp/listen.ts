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
