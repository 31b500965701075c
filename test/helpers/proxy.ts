import { createServer, connect as netConnect, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that a test can cut and restore, to take a link down without
 * touching either router: put it on the port a site's tokens advertise (`--link-port P`)
 * and point it at the port the site's link server binds (`--link-bind-port Q`). It holds
 * its port from start to close, through cuts, so no other process can take it meanwhile.
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
   * TLS) and, until restore(), resets each new connection as soon as it is accepted.
   * Idempotent.
   */
  cut(): Promise<void>;
  /** Proxies new connections again. Idempotent. */
  restore(): Promise<void>;
  /** cut() for good and release the port. Safe to call twice. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/**
 * Starts a proxy listening on `port` (0: an OS-chosen one) and forwarding to
 * 127.0.0.1:targetPort(), asked at each connection (the target may be known only later).
 */
export async function startProxy({
  port,
  targetPort,
}: {
  port: number;
  targetPort: () => number;
}): Promise<CuttableProxy> {
  const pairs = new Set<Pair>();
  let cut = false;
  let closing: Promise<void> | undefined;

  const server = createServer({ allowHalfOpen: true }, (client: Socket): void => {
    if (cut) {
      client.on('error', () => client.destroy());
      client.resetAndDestroy();
      return;
    }
    const upstream = netConnect({ host: '127.0.0.1', port: targetPort() });
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
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no address');

  const cutAll = (): void => {
    cut = true;
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
  };

  return {
    port: address.port,
    get targetPort() {
      return targetPort();
    },
    get isCut() {
      return cut;
    },
    get open() {
      return pairs.size;
    },
    cut() {
      cutAll();
      return Promise.resolve();
    },
    restore() {
      if (closing) return Promise.reject(new Error('proxy is closed'));
      cut = false;
      return Promise.resolve();
    },
    close() {
      cutAll();
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}
