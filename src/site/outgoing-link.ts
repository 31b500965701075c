import type { LinkInfo, LinkState } from '../admin/api.js';
import type { Settings } from '../config/settings.js';
import { describe } from '../errors.js';
import { Backoff } from '../link/backoff.js';
import { dialLink } from '../link/client.js';
import type { LinkConnection } from '../link/connection.js';
import type { LinkTransport } from '../link/websocket/transport.js';
import type { Logger } from '../log.js';
import { LinkCounters } from '../metrics/link-counters.js';
import { type LinkRecord, linkId } from './records.js';

export interface OutgoingLinkDeps {
  settings: Settings;
  logger: Logger;
  /** Wraps a freshly opened link socket in a LinkConnection wired to the site. */
  connect(link: OutgoingLink, socket: LinkTransport): LinkConnection;
}

/**
 * One link this site dials, kept up for as long as it exists: dial, and after any
 * failure or loss wait (exponential backoff with jitter) and dial again, rotating
 * through the token's URLs. A link whose issuer revoked it is never redialled.
 */
export class OutgoingLink {
  state: LinkState = 'connecting';
  since = new Date();
  lastError: string | undefined;
  conn: LinkConnection | undefined;
  /** What the link carried over all its connections. */
  readonly counters = new LinkCounters();
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private urlIndex = 0;
  private stopped = false;
  /** 'link down' is logged once per outage, not once per failed redial. */
  private downLogged = false;
  /** Resolves each time an attempt ends (up, or failed), for callers that wait for the outcome. */
  private waiters: Array<() => void> = [];

  constructor(
    public record: LinkRecord,
    private readonly keyPem: string,
    private readonly deps: OutgoingLinkDeps,
  ) {
    this.backoff = new Backoff(deps.settings.backoffInitialMs, deps.settings.backoffMaxMs);
  }

  get name(): string {
    return this.record.name;
  }

  start(): void {
    if (this.record.revokedAt) {
      this.setState('revoked', this.record.revokedReason);
      return;
    }
    void this.attempt();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.settle();
  }

  /** Waits until the current attempt has an outcome, or timeoutMs passes. */
  settled(timeoutMs: number): Promise<void> {
    if (this.state !== 'connecting') return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The connection came up (peer said hello). */
  up(): void {
    this.backoff.reset();
    this.setState('up');
  }

  /** The connection ended; `revoked` when the issuer ended the credential for good. */
  down(reason: string, revoked: boolean): void {
    this.conn = undefined;
    if (this.stopped) return;
    if (revoked) {
      this.setState('revoked', reason);
      return;
    }
    this.setState('down', reason);
    this.retry();
  }

  info(): LinkInfo {
    return {
      id: linkId(this.record.serial),
      name: this.record.name,
      direction: 'out',
      peerSiteId: this.record.peerSiteId,
      peerSiteName: this.record.peerSiteName,
      cost: this.record.cost,
      state: this.state,
      url: this.record.urls[this.urlIndex % this.record.urls.length],
      ...(this.lastError ? { lastError: this.lastError } : {}),
      since: this.since.toISOString(),
      ...(this.conn?.rttMs !== undefined ? { rttMs: this.conn.rttMs } : {}),
      streams: this.conn?.mux.streamCount ?? 0,
    };
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const url = this.record.urls[this.urlIndex % this.record.urls.length]!;
    if (this.state !== 'connecting') this.setState('connecting', this.lastError);
    try {
      const socket = await dialLink({
        url,
        caPem: this.record.caPem,
        certPem: this.record.certPem,
        keyPem: this.keyPem,
        handshakeTimeoutMs: this.deps.settings.handshakeTimeoutMs,
        maxMessageSize: this.deps.settings.maxMessageSize,
      });
      if (this.stopped) {
        socket.terminate();
        return;
      }
      this.conn = this.deps.connect(this, socket);
    } catch (err) {
      if (this.stopped) return;
      this.urlIndex++;
      this.setState('down', describe(err));
      this.retry();
    }
  }

  private retry(): void {
    const delay = this.backoff.delay();
    this.deps.logger.debug({ link: this.name, delayMs: delay }, 'link redial scheduled');
    this.timer = setTimeout(() => void this.attempt(), delay);
    this.timer.unref();
  }

  private setState(state: LinkState, error?: string): void {
    this.state = state;
    this.since = new Date();
    if (error !== undefined) this.lastError = error;
    if (state === 'up') this.lastError = undefined;
    if (state !== 'connecting') this.settle();
    if (state === 'up') this.downLogged = false;
    if (state === 'down' && !this.downLogged) {
      this.downLogged = true;
      this.deps.logger.warn({ link: this.name, error }, 'link down');
    }
  }

  private settle(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
