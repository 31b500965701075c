import type { Socket } from 'node:net';
import type { Settings } from '../config/settings.js';
import { fieldsText } from '../config/targets.js';
import { describe } from '../errors.js';
import type { LinkConnection } from '../link/connection.js';
import type { Logger } from '../log.js';
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
  ) {
    this.failures = new StreamFailures(logger);
  }

  stop(): void {
    this.failures.stop();
  }

  /** A client connected to a listener: to this site's own connector if it has one, else over the network. */
  connectClient(address: string, socket: Socket): void {
    const route = this.network.choose(address);
    if (route?.kind !== 'local') {
      this.sendRemote(address, socket, new Set([this.site.id]), route);
      return;
    }
    const target = this.connectors.get(address)!;
    const untrack = this.connectors.track(address);
    this.targets.dial(target, this.settings.connectTimeoutMs).then(
      (upstream) => {
        this.connectors.dialled(address, target);
        socket.once('close', untrack);
        splice(socket, upstream);
      },
      (err) => {
        untrack();
        const failure = { address, connector: fieldsText(target), reason: describe(err) };
        this.connectors.dialled(address, target, failure.reason);
        this.sendRemote(address, socket, new Set([this.site.id]), undefined, failure);
      },
    );
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
    first?: Route<LinkConnection>,
    localFailure?: StreamFailure,
  ): void {
    const route = first ?? this.network.choose(address, tried);
    if (route?.kind !== 'remote') {
      this.failures.failed(
        localFailure
          ? { ...localFailure, reason: `${localFailure.reason}; no other site serves "${address}"` }
          : { address, reason: `no reachable site has a connector for "${address}"` },
      );
      closeCleanly(socket);
      return;
    }
    if (localFailure) this.failures.retrying(localFailure);
    this.countStream();
    const client = new RemoteClient(this.network, this.failures, this.counts, address, tried);
    const pipe = new StreamPipe(this.logger, route.siteName, client);
    pipe.stream = client.open(route, pipe);
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
    if (target === undefined) {
      const reason = `site ${this.site.name} has no connector for "${address}"`;
      this.failures.failed({ address, site: from.peer?.siteName, reason });
      stream.reset(ResetCode.NO_ROUTE, reason);
      return;
    }
    this.countStream();
    const pipe = new StreamPipe(
      this.logger,
      address,
      new TrackedPipe(this.counts, this.connectors.track(address)),
    );
    pipe.stream = stream;
    stream.setHandler(pipe);
    this.targets.dial(target, this.settings.connectTimeoutMs).then(
      (socket) => {
        this.connectors.dialled(address, target);
        pipe.attach(socket);
        if (pipe.state !== PipeState.Pending) return;
        stream.accept();
        pipe.start();
      },
      (err) => {
        const reason = describe(err);
        this.connectors.dialled(address, target, reason);
        this.failures.failed({ address, connector: fieldsText(target), reason });
        pipe.abort(reason, ResetCode.REFUSED);
      },
    );
  }

  /** The transit hop of a multi-hop stream: open the next hop and join the two. */
  private relay(stream: MuxStream, open: OpenRequest, dest: string, from: LinkConnection): void {
    const hops = (typeof open.hops === 'number' ? open.hops : 0) + 1;
    const via = this.network.nextHop(dest);
    if (hops > MAX_HOPS || via === undefined || via === from) {
      const why = hops > MAX_HOPS ? 'too many hops' : `no path from ${this.site.name}`;
      const reason = `${why} to the site serving "${open.address}"`;
      this.failures.failed({ address: open.address, reason });
      stream.reset(ResetCode.NO_ROUTE, reason);
      return;
    }
    this.countStream();
    const relay = new StreamRelay(stream, () => {
      this.counts.active--;
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

/** A pipe to a local target: done, it leaves the counts and the connector's balance. */
class TrackedPipe implements PipeOwner {
  constructor(
    private readonly counts: Counts,
    private readonly untrack: () => void,
  ) {}

  pipeDone(): void {
    this.counts.active--;
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

  constructor(
    private readonly network: ServiceNetwork,
    private readonly failures: StreamFailures,
    private readonly counts: Counts,
    private readonly address: string,
    private readonly tried: Set<string>,
  ) {}

  open(to: RemoteRoute, pipe: StreamPipe): MuxStream {
    this.site = to.siteId;
    this.siteName = to.siteName;
    this.untrack = this.network.track(to.siteId);
    return to.via.mux.openStream({ address: this.address, dest: to.siteId, hops: 0 }, pipe);
  }

  pipeDone(): void {
    this.counts.active--;
    this.stopTracking();
  }

  retry(pipe: StreamPipe, _code: number, reason: string): MuxStream | undefined {
    this.stopTracking();
    this.tried.add(this.site);
    const next =
      this.tried.size <= MAX_ATTEMPTS ? this.network.choose(this.address, this.tried) : undefined;
    const failure = { address: this.address, site: this.siteName, reason };
    if (next?.kind !== 'remote') {
      this.failures.failed(failure);
      return undefined;
    }
    this.failures.retrying(failure);
    return this.open(next, pipe);
  }

  private stopTracking(): void {
    this.untrack?.();
    this.untrack = undefined;
  }
}
