import { createServer, type Server, type Socket } from 'node:net';
import { listenOn, resetSocket } from './listen.js';
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

  get listening(): boolean {
    return this.server.listening;
  }

  listen(): Promise<void> {
    return listenOn(this.server, this.host, this.port, 'choose another --port');
  }

  /** Stops accepting new connections; open ones go on (a drain). */
  stopAccepting(): void {
    if (this.server.listening) this.server.close();
  }

  /** Stops accepting; open connections are reset, since their listener is gone. */
  close(): Promise<void> {
    for (const socket of this.connections) resetSocket(socket);
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
