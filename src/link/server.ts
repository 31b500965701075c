import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { WebSocketServer } from 'ws';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { listenOn } from '../tcp/listen.js';
import { REDEEM_PATH } from '../token/redeem-handler.js';
import { linkTlsOptions } from './client.js';
import type { LinkTransport } from './websocket/transport.js';
import { acceptWithWs, maxLinkMessage, wsAcceptor } from './websocket/ws-socket.js';

export const LINK_PATH = '/v1/link';

export interface LinkServerOptions<G> {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  /** The site CA: client certificates must chain to it. */
  caPem: string;
  /** The TLS handshake, and then the whole request (upgrade or redeem), must arrive within this. */
  handshakeTimeoutMs: number;
  maxMessageSize: number;
  /** The grant behind a client certificate serial, or undefined if it was never issued or was revoked. */
  authorize(serial: string): G | undefined;
  onLink(socket: LinkTransport, grant: G, remote: string): void;
  onRedeem(req: IncomingMessage, res: ServerResponse): void;
  logger: Logger;
}

/**
 * The site's link endpoint: one HTTPS port (TLS 1.3) for two kinds of client. A site
 * redeeming a token has no certificate yet and may only POST /v1/redeem. A linked site
 * presents the certificate it got at redemption; it is checked right after the TLS
 * handshake (chain to the site CA, and a live grant for its serial) and the connection is
 * destroyed before any HTTP is read if either fails, exactly as Node's own
 * rejectUnauthorized would, so a revoked credential never reaches the WebSocket upgrade.
 *
 * The port is open to anyone, so no connection may sit on it without making progress:
 * the TLS handshake and then the whole request (the upgrade, or a redeem with its body)
 * must arrive within handshakeTimeoutMs, and a redeem connection closes after its one
 * response. Node's own header timeout is 60 s and is checked only every 30 s.
 */
export class LinkServer<G> {
  private readonly server: Server;
  private readonly links = new Set<LinkTransport>();
  private readonly grants = new WeakMap<TLSSocket, G>();
  /** Connections whose request has not fully arrived yet, and their deadline. */
  private readonly deadlines = new WeakMap<Duplex, NodeJS.Timeout>();
  /** The ws package's acceptor (decision 0006). */
  private readonly wss: WebSocketServer;

  constructor(private readonly opts: LinkServerOptions<G>) {
    this.wss = wsAcceptor(maxLinkMessage(opts.maxMessageSize));
    this.server = createServer({
      key: opts.keyPem,
      cert: opts.certPem,
      ca: opts.caPem,
      requestCert: true,
      rejectUnauthorized: false,
      ...linkTlsOptions,
      honorCipherOrder: true,
      handshakeTimeout: opts.handshakeTimeoutMs,
    });
    this.server.on('secureConnection', (socket) => {
      this.checkPeer(socket);
      if (!socket.destroyed) this.startDeadline(socket);
    });
    this.server.on('request', (req, res) => this.request(req, res));
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.server.on('tlsClientError', (err, socket) => {
      opts.logger.debug({ err: err.message, remote: remoteOf(socket) }, 'link tls error');
    });
  }

  async listen(): Promise<void> {
    await listenOn(
      this.server,
      this.opts.host,
      this.opts.port,
      'stop what holds it, or recreate the site with another --link-port',
    );
  }

  async close(): Promise<void> {
    for (const link of this.links) link.terminate();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private checkPeer(socket: TLSSocket): void {
    const cert = socket.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return; // a redeeming site: no certificate yet
    let reason: string | undefined;
    if (!socket.authorized) {
      reason = String(socket.authorizationError ?? 'UNAUTHORIZED');
    } else {
      const grant = this.opts.authorize(cert.serialNumber.toLowerCase());
      if (grant === undefined) reason = 'UNKNOWN_CREDENTIAL';
      else this.grants.set(socket, grant);
    }
    if (reason !== undefined) {
      this.opts.logger.warn(
        { reason, remote: remoteOf(socket), serial: cert.serialNumber },
        'link refused',
      );
      socket.destroy();
    }
  }

  private startDeadline(socket: TLSSocket): void {
    const timer = setTimeout(() => {
      this.opts.logger.debug(
        { remote: remoteOf(socket), ms: this.opts.handshakeTimeoutMs },
        'link port connection dropped: no complete request in time',
      );
      socket.destroy();
    }, this.opts.handshakeTimeoutMs);
    timer.unref();
    this.deadlines.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  }

  private clearDeadline(socket: Duplex): void {
    clearTimeout(this.deadlines.get(socket));
    this.deadlines.delete(socket);
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    res.shouldKeepAlive = false;
    req.once('end', () => this.clearDeadline(req.socket));
    if (req.url === REDEEM_PATH) {
      this.opts.onRedeem(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: ErrorCode.NOT_FOUND, message: `no such endpoint ${req.url}` }));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.clearDeadline(socket);
    const tls = socket as TLSSocket;
    const grant = this.grants.get(tls);
    if (req.url !== LINK_PATH || grant === undefined) {
      const status = grant === undefined ? '403 Forbidden' : '404 Not Found';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const link = acceptWithWs(this.wss, req, socket, head);
    if (link === undefined) return;
    this.links.add(link);
    socket.once('close', () => this.links.delete(link));
    this.opts.onLink(link, grant, remoteOf(tls));
  }
}

function remoteOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}
