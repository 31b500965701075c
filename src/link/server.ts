import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { WebSocketServer } from 'ws';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { LogThrottle } from '../log-throttle.js';
import { normalizeSerial } from '../pki/serial.js';
import { listenOn } from '../tcp/listen.js';
import { Admission, type AdmissionLimits, type AdmissionStats, sourceOf } from './admission.js';
import { linkTlsOptions } from './client.js';
import { LINK_PATH, REDEEM_PATH } from './paths.js';
import type { LinkTransport } from './websocket/transport.js';
import { acceptWithWs, maxLinkMessage, wsAcceptor } from './websocket/ws-socket.js';

export { LINK_PATH } from './paths.js';

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
  /** Caps on connections not yet authenticated and upgraded, and the redeem rate per source. */
  admission: AdmissionLimits;
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
 * response. Node's own header timeout is 60 s and is checked only every 30 s. Nor may
 * strangers hold many connections at once: until a link is upgraded a connection counts
 * towards a cap per source address and one in total (admission.ts), and one over a cap is
 * closed as it is accepted, before any TLS.
 */
export class LinkServer<G> {
  private readonly server: Server;
  private readonly links = new Set<LinkTransport>();
  private readonly grants = new WeakMap<TLSSocket, G>();
  /** Connections whose request has not fully arrived yet, and their deadline. */
  private readonly deadlines = new WeakMap<Duplex, NodeJS.Timeout>();
  private readonly admission: Admission;
  /** Admitted connections not yet upgraded, by remote address:port. */
  private readonly tickets = new Map<string, Ticket>();
  private readonly refusedLog = new LogThrottle(10, 10_000);

  /** The ws package's acceptor (decision 0006). */
  private readonly wss: WebSocketServer;

  constructor(private readonly opts: LinkServerOptions<G>) {
    this.admission = new Admission(opts.admission);
    this.wss = wsAcceptor(maxLinkMessage(opts.maxMessageSize));
    this.server = createServer({
      ...this.context(opts.certPem, opts.keyPem),
      requestCert: true,
      rejectUnauthorized: false,
      handshakeTimeout: opts.handshakeTimeoutMs,
    });
    // Before the TLS layer's own listener, so a refused connection costs no handshake.
    this.server.prependListener('connection', (socket: Socket) => this.admit(socket));
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

  /**
   * Serves `certPem` (with its key) to connections from now on; those open keep theirs. For
   * a certificate reissued to name more hosts (site/server-cert.ts).
   */
  setCertificate(certPem: string, keyPem: string): void {
    this.server.setSecureContext(this.context(certPem, keyPem));
  }

  /** The TLS context: the server certificate, the site CA clients are checked against. */
  private context(certPem: string, keyPem: string) {
    return {
      key: keyPem,
      cert: certPem,
      ca: this.opts.caPem,
      ...linkTlsOptions,
      honorCipherOrder: true,
    };
  }

  async listen(): Promise<void> {
    await listenOn(
      this.server,
      this.opts.host,
      this.opts.port,
      'stop what holds it, or recreate the site with another --link-port',
    );
  }

  /** The port bound by listen(): the OS's choice when `port` was 0 (tests bind that way). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : this.opts.port;
  }

  /** What the port holds and refused, for status. */
  stats(): AdmissionStats {
    return this.admission.stats();
  }

  /** Stops accepting connections (a drain); links and requests under way go on. */
  stopAccepting(): void {
    if (this.server.listening) this.server.close();
  }

  async close(): Promise<void> {
    for (const link of this.links) link.terminate();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private admit(socket: Socket): void {
    const source = sourceOf(socket.remoteAddress);
    const refused = this.admission.admit(source);
    if (refused !== undefined) {
      socket.destroy();
      const admitted = this.refusedLog.admit();
      if (admitted) {
        const { unauthenticated, refusedPerSource, refusedTotal } = this.admission.stats();
        this.opts.logger.warn(
          { source, cap: refused, unauthenticated, refusedPerSource, refusedTotal, ...admitted },
          'link port connection refused: too many unauthenticated connections',
        );
      }
      return;
    }
    const key = remoteOf(socket);
    const ticket: Ticket = { source, held: true };
    this.tickets.set(key, ticket);
    socket.once('close', () => this.release(key, ticket));
  }

  /** The connection closed or was authenticated and upgraded: it no longer counts. */
  private release(key: string, ticket: Ticket | undefined = this.tickets.get(key)): void {
    if (ticket === undefined || !ticket.held) return;
    ticket.held = false;
    if (this.tickets.get(key) === ticket) this.tickets.delete(key);
    this.admission.release(ticket.source);
  }

  private checkPeer(socket: TLSSocket): void {
    const cert = socket.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return; // a redeeming site: no certificate yet
    let reason: string | undefined;
    if (!socket.authorized) {
      reason = String(socket.authorizationError ?? 'UNAUTHORIZED');
    } else {
      const grant = this.opts.authorize(normalizeSerial(cert.serialNumber));
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
      if (!this.admission.allowRedeem(sourceOf(req.socket.remoteAddress))) {
        const retry = Math.ceil(60 / this.opts.admission.redeemsPerMinute);
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retry) });
        res.end(
          JSON.stringify({
            code: ErrorCode.LIMIT,
            message: `too many redeem requests from this address; retry in ${retry} s`,
          }),
        );
        return;
      }
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
    this.release(remoteOf(tls));
    this.links.add(link);
    socket.once('close', () => this.links.delete(link));
    this.opts.onLink(link, grant, remoteOf(tls));
  }
}

interface Ticket {
  source: string;
  /** Still counted by the admission gate. */
  held: boolean;
}

function remoteOf(socket: { remoteAddress?: string; remotePort?: number }): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}
