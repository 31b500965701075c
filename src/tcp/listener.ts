import { createServer, type Server, type Socket } from 'node:net';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { tcpSocketOptions } from './socket-options.js';

/** A bound TCP port that hands each accepted connection to `onConnection`. */
export class TcpListener {
  private readonly server: Server;
  readonly connections = new Set<Socket>();

  constructor(
    readonly host: string,
    readonly port: number,
    onConnection: (socket: Socket) => void,
  ) {
    this.server = createServer({ ...tcpSocketOptions, pauseOnConnect: true }, (socket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
      onConnection(socket);
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new SkiffError(
                ErrorCode.PORT_IN_USE,
                `port ${this.port} on ${this.host} is already in use; choose another --port`,
              )
            : new SkiffError(
                ErrorCode.INVALID_ARGUMENT,
                `cannot listen on ${this.host}:${this.port}: ${describe(err)}`,
                { cause: err },
              ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  /** Stops accepting; open connections are reset, since their listener is gone. */
  close(): Promise<void> {
    for (const socket of this.connections) socket.resetAndDestroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
