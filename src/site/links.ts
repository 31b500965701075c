import type { LinkInfo } from '../admin/api.js';
import { MAX_NAME, nameProblem } from '../config/rules.js';
import type { Settings } from '../config/settings.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { LinkConnection } from '../link/connection.js';
import { type AdvertsMessage, type Hello, PROTOCOL_VERSION } from '../link/control-messages.js';
import type { LinkTransport } from '../link/websocket/transport.js';
import type { Logger } from '../log.js';
import { LinkCounters } from '../metrics/link-counters.js';
import type { BufferMeter } from '../mux/meter.js';
import { createCsr, generateKey } from '../pki/index.js';
import { ResetCode } from '../protocol/frame.js';
import { isLinkCost, LINK_COST_RULE } from '../routing/cost.js';
import type { StateStore } from '../state/store.js';
import { proveRedemption } from '../token/proof.js';
import { redeemToken } from '../token/redeem-client.js';
import { parseToken } from '../token/token.js';
import { OutgoingLink } from './outgoing-link.js';
import {
  CA_SECRET,
  type GrantRecord,
  type LinkRecord,
  linkId,
  linkSecret,
  normalizeSerial,
  type SiteRecord,
} from './records.js';

export interface LinkEvents {
  /** A connection is up and carries streams; `cost` is the link's cost. */
  up(conn: LinkConnection, cost: number): void;
  down(conn: LinkConnection): void;
  /** The cost of a link that is up changed (`link update`, or the dialler's CONTROL cost). */
  cost(conn: LinkConnection, cost: number): void;
  /** A link-level message for the router (routing updates). */
  control(conn: LinkConnection, msg: AdvertsMessage): void;
}

interface Incoming {
  grant: GrantRecord;
  conn?: LinkConnection;
  /** The dialler's cost for the link, from its hello (1 until it has dialled in). */
  cost: number;
  since: Date;
  lastError?: string;
  counters: LinkCounters;
}

/**
 * Every link of the site: the outgoing ones it dials (made from tokens) and the incoming
 * ones its peers dial (one per grant it issued). Creating and deleting links, and
 * revocation in both directions, live here; what flows over a link is the router's.
 *
 * Names are unique across both directions, so `link delete NAME` means one link: a second
 * link to or from the same site is named `peer-2`, `peer-3`... (docs/decisions/0013).
 */
export class Links {
  private readonly outgoing = new Map<string, OutgoingLink>();
  /** Incoming links by normalised certificate serial. */
  private readonly incoming = new Map<string, Incoming>();
  /** Names held for a link being made (a token being redeemed, here or by a peer). */
  private readonly claimed = new Set<string>();

  constructor(
    private readonly site: SiteRecord,
    private readonly store: StateStore,
    private readonly settings: Settings,
    private readonly meter: BufferMeter,
    private readonly logger: Logger,
    private readonly events: LinkEvents,
  ) {}

  async restore(): Promise<void> {
    const grants = await this.store.list('grant');
    for (const rec of await this.store.list('link')) {
      // A bad key is reported by the store; the link is skipped like a missing one.
      const key = (await this.store.getSecret(linkSecret(rec.name)).catch(() => undefined)) ?? '';
      if (key === '' && !rec.revokedAt) {
        const where = this.store.locate('key', linkSecret(rec.name));
        if (!this.store.problems.list().some((p) => p.where === where)) {
          this.store.problems.report({
            kind: 'key',
            name: linkSecret(rec.name),
            where,
            problem: `${where}: is missing; restore it from a backup, or delete the link and link again with a new token`,
          });
        }
        continue;
      }
      this.startOutgoing(rec, key);
    }
    for (const grant of grants) this.addGrant(await this.uniquelyNamed(grant));
  }

  /**
   * A grant from before names were unique may share its name with another link: it is
   * renamed (durably when the store allows) so that every name means one link.
   */
  private async uniquelyNamed(grant: GrantRecord): Promise<GrantRecord> {
    if (!this.nameTaken(grant.linkName) && nameProblem(grant.linkName, 'name') === undefined) {
      return grant;
    }
    const renamed = { ...grant, linkName: this.freeName(grant.linkName) };
    this.logger.warn(
      { link: renamed.linkName, was: grant.linkName, serial: grant.serial },
      'incoming link renamed: another link has its name',
    );
    await this.store
      .put('grant', grant.serial, renamed)
      .catch((err: unknown) =>
        this.logger.error(
          { link: renamed.linkName, err: describe(err) },
          'could not save the new name; it holds until the router stops',
        ),
      );
    return renamed;
  }

  /** Called for each credential issued by token redemption: it may now dial in. */
  addGrant(grant: GrantRecord): void {
    this.incoming.set(normalizeSerial(grant.serial), {
      grant,
      cost: 1,
      since: new Date(),
      counters: new LinkCounters(),
    });
  }

  /**
   * Holds a free name for an incoming link being granted, from the one the peer asked for
   * (its site name); release() once the grant is added or has failed.
   */
  claimIncomingName(requested: string): { name: string; release(): void } {
    return this.claim(this.freeName(requested));
  }

  private claim(name: string): { name: string; release(): void } {
    this.claimed.add(name);
    return { name, release: () => this.claimed.delete(name) };
  }

  private nameTaken(name: string): boolean {
    if (this.outgoing.has(name) || this.claimed.has(name)) return true;
    for (const { grant } of this.incoming.values()) if (grant.linkName === name) return true;
    return false;
  }

  /** `base` if free, else `base-2`, `base-3`...; a base that is no valid name becomes `link`. */
  private freeName(base: string): string {
    const stem = nameProblem(base, 'name') === undefined ? base : 'link';
    if (!this.nameTaken(stem)) return stem;
    for (let n = 2; ; n++) {
      const suffix = `-${n}`;
      const name = `${stem.slice(0, MAX_NAME - suffix.length).replace(/-+$/, '')}${suffix}`;
      if (!this.nameTaken(name)) return name;
    }
  }

  /** The grant behind a client certificate, for the link server's check after TLS. */
  authorize(serial: string): GrantRecord | undefined {
    return this.incoming.get(normalizeSerial(serial))?.grant;
  }

  async create(req: { token: string; name?: string; cost: number }): Promise<LinkInfo> {
    if (!isLinkCost(req.cost)) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `link cost ${JSON.stringify(req.cost)} is not valid: use ${LINK_COST_RULE}`,
      );
    }
    const token = parseToken(req.token);
    if (token.issuer.id === this.site.id) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        'this token was issued by this site; use it on the site that should link to this one',
      );
    }
    if (req.name !== undefined && this.nameTaken(req.name)) {
      throw new SkiffError(
        ErrorCode.ALREADY_EXISTS,
        `a link named "${req.name}" already exists at this site; pick another --name (skiff link list shows the names)`,
      );
    }
    if (req.name === undefined) {
      const problem = nameProblem(token.issuer.name, `the issuer's name`);
      if (problem !== undefined) {
        throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `${problem}; pass --name`);
      }
    }
    const claim = this.claim(req.name ?? this.freeName(token.issuer.name));
    try {
      return await this.redeemAndStart(req, token, claim.name);
    } finally {
      claim.release();
    }
  }

  private async redeemAndStart(
    req: { token: string; cost: number },
    token: ReturnType<typeof parseToken>,
    name: string,
  ): Promise<LinkInfo> {
    const caKeyPem = await this.store.getSecret(CA_SECRET);
    if (caKeyPem === undefined) {
      throw new SkiffError(
        ErrorCode.STATE_CORRUPT,
        "the site's CA key is missing from its state, so it cannot prove its id; recreate the site",
      );
    }
    const keyPem = await generateKey();
    const csrPem = createCsr(keyPem, this.site.id);
    const proof = proveRedemption(caKeyPem, { tokenId: token.id, csrPem, siteId: this.site.id });
    const issued = await redeemToken(
      token,
      req.token,
      {
        csrPem,
        siteId: this.site.id,
        siteName: this.site.name,
        linkName: this.site.name,
        siteCaPem: this.site.caPem,
        proof,
      },
      { timeoutMs: this.settings.handshakeTimeoutMs },
    );
    const rec: LinkRecord = {
      name,
      cost: req.cost,
      urls: token.urls,
      peerSiteId: token.issuer.id,
      peerSiteName: token.issuer.name,
      caPem: issued.caPem,
      certPem: issued.certPem,
      serial: issued.serial,
      createdAt: new Date().toISOString(),
    };
    await this.store.putSecret(linkSecret(name), keyPem);
    await this.store.put('link', name, rec);
    this.logger.info({ link: name, peer: rec.peerSiteName }, 'link created');
    const link = this.startOutgoing(rec, keyPem);
    await link.settled(this.settings.handshakeTimeoutMs);
    return link.info();
  }

  /** Changes an outgoing link's cost; the peer hears it over the link (CONTROL cost). */
  async update(req: { name: string; cost: number }): Promise<LinkInfo> {
    const out = this.outgoing.get(req.name);
    if (!out) {
      const incoming = this.incomingNamed(req.name);
      if (incoming) {
        throw new SkiffError(
          ErrorCode.INVALID_ARGUMENT,
          `link "${req.name}" is incoming: site ${incoming[1].grant.peerSiteName} dialled it and sets its cost; run skiff link update there`,
        );
      }
      throw notFound(req.name);
    }
    if (out.record.cost === req.cost) return out.info();
    const record = { ...out.record, cost: req.cost };
    await this.store.put('link', req.name, record);
    out.record = record;
    const conn = out.conn;
    if (conn?.peer) {
      conn.mux.sendControl({ type: 'cost', cost: req.cost });
      this.events.cost(conn, req.cost);
    }
    this.logger.info({ link: req.name, cost: req.cost }, 'link cost changed');
    return out.info();
  }

  private incomingNamed(name: string): [string, Incoming] | undefined {
    for (const entry of this.incoming) if (entry[1].grant.linkName === name) return entry;
    return undefined;
  }

  async delete(name: string): Promise<void> {
    const out = this.outgoing.get(name);
    if (out) {
      this.outgoing.delete(name);
      out.stop();
      // Ask the issuer to revoke the credential; the key is deleted here either way.
      out.conn?.mux.sendControl({ type: 'unlink' });
      out.conn?.close('link deleted', {
        code: ResetCode.SHUTDOWN,
        message: `link deleted by ${this.site.name}`,
      });
      await this.store.delete('link', name);
      await this.store.deleteSecret(linkSecret(name));
      this.logger.info({ link: name }, 'link deleted');
      return;
    }
    const incoming = this.incomingNamed(name);
    if (!incoming) throw notFound(name);
    await this.revoke(incoming[0], `link deleted at ${this.site.name}`);
  }

  /**
   * Ends an incoming link's credential for good and drops its connection. The grant's
   * deletion is durable before the credential is forgotten: if the store fails, nothing
   * changed and the error says so (a credential forgotten in memory but still on disk
   * would come back at the next start).
   */
  private async revoke(serial: string, reason: string): Promise<void> {
    const entry = this.incoming.get(serial);
    if (!entry) return;
    await this.store.delete('grant', entry.grant.serial);
    this.incoming.delete(serial);
    entry.conn?.close(reason, { code: ResetCode.REVOKED, message: reason });
    this.logger.info({ link: entry.grant.linkName, serial }, 'link credential revoked');
  }

  /** A peer dialled in with a granted certificate. */
  accept(socket: LinkTransport, grant: GrantRecord, remote: string): void {
    const entry = this.incoming.get(normalizeSerial(grant.serial));
    if (!entry) {
      socket.terminate();
      return;
    }
    entry.conn?.close('replaced by a new connection from the same peer');
    const conn = new LinkConnection({
      socket,
      role: 'acceptor',
      linkName: grant.linkName,
      settings: this.settings,
      meter: this.meter,
      counters: entry.counters,
      logger: this.logger.child({ link: grant.linkName }),
      hello: this.hello(),
      peerSiteId: grant.peerSiteId,
      onUp: (c, peer) => {
        entry.since = new Date();
        entry.lastError = undefined;
        entry.cost = peer.cost ?? 1;
        this.logger.info({ link: c.name, direction: 'in', peer: peer.siteName, remote }, 'link up');
        this.events.up(c, entry.cost);
      },
      onDown: (c, reason) => {
        if (entry.conn === c) {
          entry.conn = undefined;
          entry.since = new Date();
          entry.lastError = reason;
        }
        if (c.peer) {
          this.logger.warn({ link: c.name, direction: 'in', error: reason }, 'link down');
          this.events.down(c);
        }
      },
    });
    conn.onControl = (msg) => {
      if (msg.type === 'cost') {
        entry.cost = msg.cost;
        this.events.cost(conn, msg.cost);
      } else if (msg.type === 'unlink') {
        this.revoke(normalizeSerial(grant.serial), `link deleted by ${grant.peerSiteName}`).catch(
          (err: unknown) =>
            this.logger.error(
              { link: grant.linkName, err: describe(err) },
              'could not revoke the credential the peer gave up; delete the link here to retry',
            ),
        );
      } else {
        this.events.control(conn, msg);
      }
    };
    entry.conn = conn;
  }

  list(): LinkInfo[] {
    return this.withCounters().map(([info]) => info);
  }

  /** Every link as `link list` shows it, with what it carried (for /metrics). */
  withCounters(): Array<[LinkInfo, LinkCounters]> {
    const out: Array<[LinkInfo, LinkCounters]> = [...this.outgoing.values()].map((l) => [
      l.info(),
      l.counters,
    ]);
    for (const entry of this.incoming.values()) out.push([incomingInfo(entry), entry.counters]);
    return out.sort(
      ([a], [b]) => a.name.localeCompare(b.name) || a.direction.localeCompare(b.direction),
    );
  }

  /**
   * The start of a drain: no more redialling, and a GOAWAY on every connection so peers
   * send new streams elsewhere at once; streams already open go on.
   */
  goAway(): void {
    const message = `${this.site.name} is stopping`;
    for (const link of this.outgoing.values()) link.stop();
    for (const conn of this.connections()) conn.mux.goAway(ResetCode.SHUTDOWN, message);
  }

  /**
   * Whether any link still carries a stream or holds bytes not yet written to its socket. A
   * pipe is done once both ends have ended, but its last bytes and its FIN may still wait in
   * the stream or the outbox (for credit, or for a congested socket): a drain that closed the
   * links then would cut the stream short.
   */
  get busy(): boolean {
    for (const conn of this.connections()) {
      if (conn.mux.streamCount > 0 || conn.mux.outbox.load > 0) return true;
    }
    return false;
  }

  private *connections(): Iterable<LinkConnection> {
    for (const link of this.outgoing.values()) if (link.conn) yield link.conn;
    for (const entry of this.incoming.values()) if (entry.conn) yield entry.conn;
  }

  /**
   * Closes every connection (router shutdown): peers see a GOAWAY, not a dropped socket.
   * Settles when every close handshake is done: a process that exited earlier could have its
   * sockets reset by the kernel (unread bytes from the peer), which discards the last bytes
   * of streams still in its send buffers.
   */
  async close(): Promise<void> {
    const goAway = { code: ResetCode.SHUTDOWN, message: `${this.site.name} is stopping` };
    for (const link of this.outgoing.values()) link.stop();
    const conns = [...this.connections()];
    for (const conn of conns) conn.close('router stopping', goAway);
    await Promise.all(conns.map((conn) => conn.done));
  }

  private startOutgoing(rec: LinkRecord, keyPem: string): OutgoingLink {
    const link = new OutgoingLink(rec, keyPem, {
      settings: this.settings,
      logger: this.logger,
      connect: (l, socket) => {
        const conn = new LinkConnection({
          socket,
          role: 'dialer',
          linkName: l.name,
          settings: this.settings,
          meter: this.meter,
          counters: l.counters,
          logger: this.logger.child({ link: l.name }),
          hello: { ...this.hello(), cost: l.record.cost },
          peerSiteId: l.record.peerSiteId,
          onUp: (c, peer) => {
            l.up();
            this.logger.info({ link: l.name, direction: 'out', peer: peer.siteName }, 'link up');
            this.events.up(c, l.record.cost);
          },
          onDown: (c, reason) => {
            if (c.peer) this.events.down(c);
            const revoked = c.goAwayCode === ResetCode.REVOKED;
            if (revoked) {
              this.markRevoked(l, reason).catch((err: unknown) =>
                this.logger.error(
                  { link: l.name, err: describe(err) },
                  'could not record that the issuer revoked this link; delete the link to clean up',
                ),
              );
            }
            l.down(reason, revoked);
          },
        });
        conn.onControl = (msg) => {
          if (msg.type === 'adverts') this.events.control(conn, msg);
        };
        return conn;
      },
    });
    this.outgoing.set(rec.name, link);
    link.start();
    return link;
  }

  private async markRevoked(link: OutgoingLink, reason: string): Promise<void> {
    link.record = { ...link.record, revokedAt: new Date().toISOString(), revokedReason: reason };
    await this.store.put('link', link.name, link.record);
    await this.store.deleteSecret(linkSecret(link.name));
    this.logger.warn({ link: link.name, reason }, 'link revoked by its issuer');
  }

  private hello(): Hello {
    return {
      type: 'hello',
      siteId: this.site.id,
      siteName: this.site.name,
      version: PROTOCOL_VERSION,
    };
  }
}

function incomingInfo({ grant, conn, cost, since, lastError }: Incoming): LinkInfo {
  return {
    id: linkId(grant.serial),
    name: grant.linkName,
    direction: 'in',
    peerSiteId: grant.peerSiteId,
    peerSiteName: grant.peerSiteName,
    cost,
    state: conn?.peer ? 'up' : 'down',
    ...(lastError ? { lastError } : {}),
    since: since.toISOString(),
    ...(conn?.rttMs !== undefined ? { rttMs: conn.rttMs } : {}),
    streams: conn?.mux.streamCount ?? 0,
  };
}

function notFound(name: string): SkiffError {
  return new SkiffError(ErrorCode.NOT_FOUND, `no link named "${name}"; see skiff link list`);
}
