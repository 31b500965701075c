import type { Socket } from 'node:net';
import type { Settings } from '../config/settings.js';
import { fieldsText } from '../config/targets.js';
import { causedBy, describe, ErrorCode } from '../errors.js';
import type { LinkConnection } from '../link/connection.js';
import type { Logger } from '../log.js';
import {
  type AddressBook,
  type AddressStats,
  type EndStats,
  Outcome,
  type OutcomeIndex,
  outcomeOfReset,
} from '../metrics/address-stats.js';
import type { MuxStream } from '../mux/stream.js';
import { type OpenRequest, ResetCode } from '../protocol/frame.js';
import { StreamRelay } from '../routing/relay.js';
import type { Route } from '../routing/routes.js';
import { splice } from '../tcp/dial.js';
import { closeCleanly } from '../tcp/listen.js';
import { type PipeOwner, PipeState, StreamPipe } from '../tcp/pipe.js';
import type { Connectors } from './connectors.js';
import type { ServiceNetwork } from './network.js';
import type { StreamFailure } from './stream-failures.js';
import { StreamFailures } from './stream-failures.js';
import type { TargetResolver } from './targets.js';

type RemoteRoute = Extract<Route<LinkConnection>, { kind: 'remote' }>;

/** Transit hops a stream may take before it is refused: a guard against loops during churn. */
const MAX_HOPS = 32;
/** Sites tried for one client connection before it is closed. */
const MAX_ATTEMPTS = 8;

/**
 * Where streams start, pass through and end: a client at a listener becomes a stream to
 * the chosen site; a stream arriving over a link is dialled to the local target, or
 * relayed one hop further towards its destination.
 */
export class Streams {
  readonly counts = { active: 0, total: 0 };
  private readonly failures: StreamFailures;

  constructor(
    private readonly site: { id: string; name: string },
    private readonly settings: Settings,
    private readonly connectors: Connectors,
    private readonly network: ServiceNetwork,
    private readonly targets: TargetResolver,
    private readonly logger: Logger,
    /** Counts streams and bytes per address (metrics/address-stats.ts). */
    private readonly addresses: AddressBook,
  ) {
    this.failures = new StreamFailures(logger);
  }

  stop(): void {
    this.failures.stop();
  }

  /** A client connected to a listener: to this site's own connector if it has one, else over the network. */
  connectClient(address: string, socket: Socket): void {
    const client: Client = { stats: this.addresses.get(address), started: performance.now() };
    const route = this.network.choose(address);
    if (route?.kind !== 'local') {
      this.sendRemote(address, socket, new Set([this.site.id]), client, route);
      return;
    }
    // This site is both ends: the listener's and the connector's.
    const { listener, connector } = client.stats;
    const target = this.connectors.get(address)!;
    const untrack = this.connectors.track(address);
    listener.open++;
    connector.open++;
    this.targets.dial(target, this.settings.connectTimeoutMs).then(
      (upstream) => {
        this.connectors.dialled(address, target);
        const done = () => {
          untrack();
          listener.open--;
          connector.open--;
        };
        if (socket.destroyed) {
          // The client left during the dial: nothing to join.
          upstream.destroy();
          listener.opened[Outcome.ABORTED]++;
          connector.opened[Outcome.ABORTED]++;
          done();
          return;
        }
        listener.opened[Outcome.OK]++;
        connector.opened[Outcome.OK]++;
        this.addresses.openTime(client.stats, 'listener', client.started);
        this.addresses.openTime(client.stats, 'connector', client.started);
        socket.once('close', done);
        countSplice(socket, upstream, client.stats);
        splice(socket, upstream);
      },
      (err) => {
        untrack();
        listener.open--;
        connector.open--;
        const outcome = this.dialFailed(client.stats, err);
        const failure = { address, connector: fieldsText(target), reason: describe(err) };
        this.connectors.dialled(address, target, failure.reason);
        this.sendRemote(address, socket, new Set([this.site.id]), client, undefined, {
          failure,
          outcome,
        });
      },
    );
  }

  /** Counts a failed dial of the address's target; returns the outcome it stands for. */
  private dialFailed(stats: AddressStats, err: unknown): OutcomeIndex {
    const outcome = causedBy(err, ErrorCode.TIMEOUT) ? Outcome.TIMEOUT : Outcome.REFUSED;
    stats.dialFailures++;
    stats.connector.opened[outcome]++;
    return outcome;
  }

  /**
   * Opens a stream to the best remote site serving the address. A reset before the stream
   * opened (target refused, no route, link lost) tries the next best site, so the client
   * only sees a failure when none is left.
   */
  private sendRemote(
    address: string,
    socket: Socket,
    tried: Set<string>,
    client: Client,
    first?: Route<LinkConnection>,
    local?: { failure: StreamFailure; outcome: OutcomeIndex },
  ): void {
    const route = first ?? this.network.choose(address, tried);
    const { listener } = client.stats;
    if (route?.kind !== 'remote') {
      const failure = local?.failure;
      this.failures.failed(
        failure
          ? { ...failure, reason: `${failure.reason}; no other site serves "${address}"` }
          : { address, reason: `no reachable site has a connector for "${address}"` },
      );
      listener.opened[local?.outcome ?? Outcome.NO_ROUTE]++;
      closeCleanly(socket);
      return;
    }
    if (local) this.failures.retrying(local.failure);
    this.countStream();
    listener.open++;
    const owner = new RemoteClient(
      this.network,
      this.failures,
      this.counts,
      address,
      tried,
      this.addresses,
      client,
    );
    const pipe = new StreamPipe(this.logger, route.siteName, owner, listener);
    pipe.stream = owner.open(route, pipe);
    pipe.attach(socket);
  }

  /** A stream arrived over a link: for this site's connector, or to be relayed towards its destination. */
  serveStream(stream: MuxStream, open: OpenRequest, from: LinkConnection): void {
    const dest = typeof open.dest === 'string' ? open.dest : this.site.id;
    if (dest !== this.site.id) {
      this.relay(stream, open, dest, from);
      return;
    }
    const address = open.address;
    const target = this.connectors.get(address);
    const stats = this.addresses.get(address);
    if (target === undefined) {
      const reason = `site ${this.site.name} has no connector for "${address}"`;
      this.failures.failed({ address, site: from.peer?.siteName, reason });
      stats.connector.opened[Outcome.NO_ROUTE]++;
      stream.reset(ResetCode.NO_ROUTE, reason);
      return;
    }
    const started = performance.now();
    this.countStream();
    const owner = new TrackedPipe(this.counts, this.connectors.track(address), stats.connector);
    const pipe = new StreamPipe(this.logger, address, owner, stats.connector);
    pipe.stream = stream;
    stream.setHandler(pipe);
    this.targets.dial(target, this.settings.connectTimeoutMs).then(
      (socket) => {
        this.connectors.dialled(address, target);
        pipe.attach(socket);
        if (pipe.state !== PipeState.Pending) return;
        stream.accept();
        owner.settle(Outcome.OK);
        this.addresses.openTime(stats, 'connector', started);
        pipe.start();
      },
      (err) => {
        const reason = describe(err);
        this.connectors.dialled(address, target, reason);
        this.failures.failed({ address, connector: fieldsText(target), reason });
        const outcome = this.dialFailed(stats, err);
        owner.settled = true;
        pipe.abort(reason, outcome === Outcome.TIMEOUT ? ResetCode.TIMEOUT : ResetCode.REFUSED);
      },
    );
  }

  /** The transit hop of a multi-hop stream: open the next hop and join the two. */
  private relay(stream: MuxStream, open: OpenRequest, dest: string, from: LinkConnection): void {
    const hops = (typeof open.hops === 'number' ? open.hops : 0) + 1;
    const via = this.network.nextHop(dest);
    const { relay: stats } = this.addresses.get(open.address);
    if (hops > MAX_HOPS || via === undefined || via === from) {
      const why = hops > MAX_HOPS ? 'too many hops' : `no path from ${this.site.name}`;
      const reason = `${why} to the site serving "${open.address}"`;
      this.failures.failed({ address: open.address, reason });
      stats.opened[Outcome.NO_ROUTE]++;
      stream.reset(ResetCode.NO_ROUTE, reason);
      return;
    }
    this.countStream();
    stats.open++;
    const relay = new StreamRelay(stream, {
      opened: (code) => {
        stats.opened[code === undefined ? Outcome.OK : outcomeOfReset(code)]++;
      },
      done: () => {
        this.counts.active--;
        stats.open--;
      },
    });
    stream.setHandler(relay.upstreamHandler);
    relay.connect(
      via.mux.openStream({ address: open.address, dest, hops }, relay.downstreamHandler),
    );
  }

  private countStream(): void {
    this.counts.active++;
    this.counts.total++;
  }
}

type Counts = Streams['counts'];

/** A client at a listener: the address's stats, and when it connected (performance.now()). */
interface Client {
  stats: AddressStats;
  started: number;
}

/** Counts local sockets' bytes of a listener and connector joined in this site. */
function countSplice(client: Socket, target: Socket, stats: AddressStats): void {
  client.on('data', (chunk: Buffer) => {
    stats.listener.receivedBytes += chunk.length;
    stats.connector.sentBytes += chunk.length;
  });
  target.on('data', (chunk: Buffer) => {
    stats.connector.receivedBytes += chunk.length;
    stats.listener.sentBytes += chunk.length;
  });
}

/**
 * A pipe to a local target: done, it leaves the counts and the connector's balance; a
 * stream that ends before it opened or failed (the peer reset it during the dial) counts
 * as aborted.
 */
class TrackedPipe implements PipeOwner {
  settled = false;

  constructor(
    private readonly counts: Counts,
    private readonly untrack: () => void,
    private readonly end: EndStats,
  ) {
    end.open++;
  }

  settle(outcome: OutcomeIndex): void {
    this.settled = true;
    this.end.opened[outcome]++;
  }

  pipeDone(): void {
    this.counts.active--;
    this.end.open--;
    if (!this.settled) this.settle(Outcome.ABORTED);
    this.untrack();
  }
}

/**
 * A client's stream to a remote site. A reset before the stream opened (target refused, no
 * route, link lost) retries on the next best site not tried yet, so the client only sees
 * a failure when none is left.
 */
class RemoteClient implements PipeOwner {
  /** The site the current attempt went to. */
  private site = '';
  private siteName = '';
  /** Ends the route's count of streams in flight (the balance tie-breaker). */
  private untrack: (() => void) | undefined;
  /** Whether the stream's outcome was counted. */
  private settled = false;

  constructor(
    private readonly network: ServiceNetwork,
    private readonly failures: StreamFailures,
    private readonly counts: Counts,
    private readonly address: string,
    private readonly tried: Set<string>,
    private readonly book: AddressBook,
    private readonly client: Client,
  ) {}

  open(to: RemoteRoute, pipe: StreamPipe): MuxStream {
    this.site = to.siteId;
    this.siteName = to.siteName;
    this.untrack = this.network.track(to.siteId);
    return to.via.mux.openStream({ address: this.address, dest: to.siteId, hops: 0 }, pipe);
  }

  opened(): void {
    this.settle(Outcome.OK);
    this.book.openTime(this.client.stats, 'listener', this.client.started);
  }

  pipeDone(): void {
    this.counts.active--;
    this.client.stats.listener.open--;
    this.settle(Outcome.ABORTED);
    this.stopTracking();
  }

  retry(pipe: StreamPipe, code: number, reason: string): MuxStream | undefined {
    this.stopTracking();
    this.tried.add(this.site);
    const next =
      this.tried.size <= MAX_ATTEMPTS ? this.network.choose(this.address, this.tried) : undefined;
    const failure = { address: this.address, site: this.siteName, reason };
    if (next?.kind !== 'remote') {
      this.failures.failed(failure);
      this.settle(outcomeOfReset(code));
      return undefined;
    }
    this.failures.retrying(failure);
    return this.open(next, pipe);
  }

  /** Counts the outcome, once: the first one counted stands. */
  private settle(outcome: OutcomeIndex): void {
    if (this.settled) return;
    this.settled = true;
    this.client.stats.listener.opened[outcome]++;
  }

  private stopTracking(): void {
    this.untrack?.();
    this.untrack = undefined;
  }
}
