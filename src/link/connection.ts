import type { Settings } from '../config/settings.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LinkCounters } from '../metrics/link-counters.js';
import type { BufferMeter } from '../mux/meter.js';
import { Mux } from '../mux/mux.js';
import { ResetCode } from '../protocol/frame.js';
import { type Hello, type LinkControl, parseControl } from './control-messages.js';
import type { LinkTransport } from './websocket/transport.js';
import { CloseStatus } from './websocket/ws-socket.js';

export { type Hello, PROTOCOL_VERSION } from './control-messages.js';

export interface LinkConnectionOptions {
  socket: LinkTransport;
  role: 'dialer' | 'acceptor';
  linkName: string;
  settings: Settings;
  meter: BufferMeter;
  /** The link's counters, kept across its connections. */
  counters?: LinkCounters;
  logger: Logger;
  hello: Hello;
  /**
   * The site the peer's credential speaks for (the grant's peer at the acceptor, the
   * token's issuer at the dialler): a HELLO naming any other site is refused.
   */
  peerSiteId: string;
  /** The peer's HELLO arrived: the link is up. */
  onUp(conn: LinkConnection, peer: Hello): void;
  /** The connection ended, for whatever reason; called once. */
  onDown(conn: LinkConnection, reason: string): void;
}

/**
 * One live wss connection of a link and the mux on it. Owns the heartbeat: a PING every
 * pingIntervalMs, and a peer silent for idleTimeoutMs is declared dead (the socket may
 * look open for minutes after a peer vanishes, so TCP alone cannot be trusted).
 */
export class LinkConnection {
  readonly mux: Mux;
  peer: Hello | undefined;
  rttMs: number | undefined;
  /** The code of the peer's GOAWAY, if it sent one (REVOKED ends a link for good). */
  goAwayCode: number | undefined;
  /** A new round-trip time was measured. */
  onRtt: (() => void) | undefined;
  /** Link-level messages after HELLO (routing updates, revocation, cost), for the site to act on. */
  onControl: ((msg: LinkControl) => void) | undefined;
  private downReason: string | undefined;
  private heartbeat: NodeJS.Timeout;
  private helloTimer: NodeJS.Timeout;
  private closed = false;
  private ended!: () => void;
  /** Settles once the connection has ended (after the close handshake, or the socket dropped). */
  readonly done = new Promise<void>((resolve) => {
    this.ended = resolve;
  });

  constructor(private readonly opts: LinkConnectionOptions) {
    const { socket, settings } = opts;
    this.mux = new Mux({
      transport: socket,
      role: opts.role,
      settings,
      logger: opts.logger,
      meter: opts.meter,
      linkId: opts.linkName,
      ...(opts.counters ? { counters: opts.counters } : {}),
    });
    this.mux.onFatal = (err) => this.close(`protocol error: ${describe(err)}`);
    this.mux.onRtt = (ms) => {
      this.rttMs = ms;
      this.onRtt?.();
    };
    this.mux.onGoAway = (code, reason) => {
      this.goAwayCode = code;
      this.downReason = `peer went away: ${reason}`;
    };
    // Throwing here is a protocol error: the mux sends GOAWAY and the link closes with the reason.
    this.mux.onControl = (raw) => {
      const msg = parseControl(raw, settings.maxSites);
      if (msg === undefined) return;
      if (msg.type === 'hello') {
        if (this.peer === undefined) this.helloReceived(msg);
        return;
      }
      if (this.peer !== undefined) this.onControl?.(msg);
    };
    socket.onMessage = (buf, start, end, last) => this.mux.receive(buf, start, end, last);
    socket.onClose = (code, reason) => this.finish(this.downReason ?? closeText(code, reason));
    this.helloTimer = setTimeout(
      () => this.close('peer did not say hello in time'),
      settings.handshakeTimeoutMs,
    ).unref();
    this.heartbeat = setInterval(() => this.beat(), settings.pingIntervalMs).unref();
    this.mux.sendControl({ ...opts.hello, maxFrameSize: settings.maxFrameSize });
  }

  get name(): string {
    return this.opts.linkName;
  }

  get peerSiteId(): string {
    return this.peer?.siteId ?? '';
  }

  /** False once the peer sent GOAWAY: it takes no new streams (it is draining or closing). */
  get accepting(): boolean {
    return this.goAwayCode === undefined;
  }

  /** Streams open on this connection: the routing tie-breaker. */
  get outstanding(): number {
    return this.mux.streamCount;
  }

  /** Ends the connection: every stream on it is reset, the peer sees the socket close. */
  close(reason: string, goAway?: { code: number; message: string }): void {
    if (this.closed) return;
    this.downReason ??= reason;
    if (goAway) {
      this.mux.goAway(goAway.code, goAway.message);
      // Let the GOAWAY reach the socket before closing it.
      setImmediate(() => this.opts.socket.close(CloseStatus.NORMAL, goAway.message));
      return;
    }
    this.opts.socket.terminate();
  }

  private helloReceived(hello: Hello): void {
    if (hello.siteId !== this.opts.peerSiteId) {
      throw new SkiffError(
        ErrorCode.PROTOCOL,
        `peer said hello as site ${hello.siteId}, but its credential is for site ${this.opts.peerSiteId}`,
      );
    }
    clearTimeout(this.helloTimer);
    this.peer = hello;
    this.mux.counters.ups++;
    if (hello.maxFrameSize !== undefined) this.mux.setPeerMaxFrameSize(hello.maxFrameSize);
    this.opts.onUp(this, hello);
    this.mux.ping(); // a first RTT right away, not one ping interval later
  }

  private beat(): void {
    if (Date.now() - this.mux.lastActivity > this.opts.settings.idleTimeoutMs) {
      this.close(`no traffic from peer for ${this.opts.settings.idleTimeoutMs} ms`);
      return;
    }
    this.mux.ping();
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.helloTimer);
    this.mux.close(ResetCode.LINK_LOST, reason);
    this.opts.onDown(this, reason);
    this.ended();
  }
}

function closeText(code: number, reason: string): string {
  if (code === CloseStatus.NORMAL && reason) return reason;
  if (code === CloseStatus.ABNORMAL)
    return reason ? `connection lost: ${reason}` : 'connection lost';
  return reason ? `closed (${code}: ${reason})` : `closed (${code})`;
}
