import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that a test can cut and restore, to take a link down without
 * touching either router: put it on the port a site's tokens advertise (`--link-port P`)
 * and point it at the port the site's link server binds (`--link-bind-port Q`).
 */
export interface CuttableProxy {
  /** The port it listens on (P). */
  readonly port: number;
  /** The port it forwards to (Q). */
  readonly targetPort: number;
  /** True between cut() and restore(). */
  readonly isCut: boolean;
  /** Connections proxied now. */
  readonly open: number;
  /**
   * Resets every proxied connection at both ends (RST, as a dropped network would look to
   * TLS) and stops accepting: new connections are refused until restore(). Idempotent.
   */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. Idempotent. */
  restore(): Promise<void>;
  /** cut() for good. Safe to call twice. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/** Starts a proxy listening on `port` (0: an OS-chosen one) and forwarding to 127.0.0.1:targetPort. */
export async function startProxy({
  port,
  targetPort,
}: {
  port: number;
  targetPort: number;
}): Promise<CuttableProxy> {
  const pairs = new Set<Pair>();
  let server: Server | undefined;
  let listenPort = port;
  let closed = false;

  const onConnection = (client: Socket): void => {
    const upstream = netConnect({ host: '127.0.0.1', port: targetPort });
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const listen = async (): Promise<void> => {
    const next = createServer({ allowHalfOpen: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen({ host: '127.0.0.1', port: listenPort }, () => {
        next.off('error', reject);
        resolve();
      });
    });
    const address = next.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no address');
    listenPort = address.port;
    server = next;
  };

  const cut = async (): Promise<void> => {
    const current = server;
    server = undefined;
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return listenPort;
    },
    targetPort,
    get isCut() {
      return server === undefined;
    },
    get open() {
      return pairs.size;
    },
    cut,
    async restore() {
      if (closed) throw new Error('proxy is closed');
      if (!server) await listen();
    },
    async close() {
      closed = true;
      await cut();
    },
  };
}
