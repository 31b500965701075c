import type { V1Service } from '@kubernetes/client-node';
import type { StateProblemInfo } from '../admin/api.js';
import { serviceNameProblem } from '../config/rules.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { Backoff } from '../link/backoff.js';
import type { Logger } from '../log.js';
import { MAX_PORTS_PER_ADDRESS } from '../routing/advert.js';
import type { ServedAddress } from '../routing/routes.js';
import type { Exposer, ExposerHost } from '../site/exposer.js';
import type { KubeConnection } from './connect.js';
import { apiFailure, kubeError, notFound } from './errors.js';
import { type Owner, type Owners, SITE_CONFIGMAP } from './owners.js';
import { ProxyPorts } from './proxy-ports.js';
import {
  corrected,
  desiredService,
  ownedBy,
  type ProxyPort,
  targetPortsOf,
} from './proxy-service-spec.js';
import { Watched } from './watched.js';

/** Proxy Services one site keeps; the network's further addresses are reported, not made. */
export const MAX_PROXY_SERVICES = 1024;
/** Services in the namespace the router follows (all of them: a clash is someone else's). */
const MAX_WATCHED = 5000;
/** Retries after a failed write: quick at first, at most every 10 s. */
const RETRY_INITIAL_MS = 200;
const RETRY_MAX_MS = 10_000;
/** Who writes, as managedFields records it. */
const FIELD_MANAGER = 'skiff-router';

export interface ProxyServicesOptions {
  kube: KubeConnection;
  logger: Logger;
  /** How long an address may be gone from the network before its Services go. */
  graceMs: number;
  /** Where the router ports bind: every address of the pod. */
  host?: string;
  /** The site record's uid, shared with the store (kube/owners.ts). */
  owners: Owners;
}

/**
 * Proxy Services (decision 0023): for every address a reachable site serves, a Service of
 * that name in the namespace with the serving sites' ports, selecting the router pod, its
 * target ports router ports this process listens on (proxy-ports.ts). Owned by the site
 * record (ownerReferences), so deleting the site's state collects them. A Service of that
 * name that is not ours is never written: the clash is a problem in status, logged once.
 * An address gone from the network for `graceMs` loses its Service; one of ours found at
 * start is adopted as it is and written only where it differs.
 *
 * All Services of the namespace are followed with a list and a watch; every change to
 * them or to the routes runs one reconcile pass (one at a time, a new request coalescing
 * into the next pass). A failed call is shown and retried with backoff.
 */
export class ProxyServices implements Exposer {
  private readonly services: Watched<V1Service>;
  private readonly ports: ProxyPorts;
  private readonly backoff = new Backoff(RETRY_INITIAL_MS, RETRY_MAX_MS);
  private host: ExposerHost | undefined;
  private owner: Owner | undefined;
  private unsubscribe: () => void = () => undefined;
  /** Our Services whose address is not served: since when (the grace runs from there). */
  private readonly goneSince = new Map<string, number>();
  /** Problems by address: clashes, names that cannot be Services, failed calls. */
  private readonly troubles = new Map<string, StateProblemInfo>();
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private closed = false;

  constructor(private readonly opts: ProxyServicesOptions) {
    const { kube, logger } = opts;
    const { core, namespace } = kube;
    this.ports = new ProxyPorts(opts.host ?? '0.0.0.0', (address, socket) =>
      this.host?.connectClient(address, socket),
    );
    this.services = new Watched<V1Service>(
      kube,
      {
        what: 'services',
        resource: 'services',
        path: `/api/v1/namespaces/${namespace}/services`,
        list: () => core.listNamespacedService({ namespace }),
        maxItems: MAX_WATCHED,
      },
      logger,
      () => this.schedule(),
    );
  }

  async start(host: ExposerHost): Promise<void> {
    const { core, namespace } = this.opts.kube;
    this.host = host;
    this.owner = await this.opts.owners.find(SITE_CONFIGMAP);
    if (this.owner === undefined) {
      throw new SkiffError(
        ErrorCode.PLATFORM_UNAVAILABLE,
        `cannot get configmaps "${SITE_CONFIGMAP}" in namespace ${namespace}: it is gone, so proxy Services would have no owner`,
      );
    }
    // A router that may not read Services must not look healthy: the first list says.
    try {
      await core.listNamespacedService({ namespace, limit: 1 });
    } catch (err) {
      throw apiFailure(err, 'list', 'services', namespace);
    }
    this.services.start();
    this.unsubscribe = host.onRoutes(() => this.schedule());
  }

  stopAccepting(): void {
    this.ports.stopAccepting();
  }

  get activeClients(): number {
    return this.ports.activeClients;
  }

  problems(): StateProblemInfo[] {
    return [...this.troubles.values()].sort((a, b) => a.where.localeCompare(b.where));
  }

  /** Router ports bound now, by address (for tests and status). */
  listening(): Set<string> {
    return this.ports.addresses();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    clearTimeout(this.timer);
    this.services.stop();
    await this.running;
    await this.ports.close();
  }

  /** A pass soon; one already running is followed by another. */
  private schedule(): void {
    if (this.closed) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.pass()
      .catch((err: unknown) =>
        this.opts.logger.error({ err: describe(err) }, 'proxy Services pass failed'),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
  }

  /** A pass in `ms` (a retry, or the next grace expiry), unless one is due sooner. */
  private later(ms: number): void {
    const at = Date.now() + ms;
    if (this.closed || (this.timer !== undefined && this.timerAt <= at)) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, ms);
    this.timer.unref();
  }

  /** One reconcile: every served address to its Service, every gone one past its grace away. */
  private async pass(): Promise<void> {
    const owner = this.owner;
    const host = this.host;
    if (owner === undefined || host === undefined) return;
    let listed: readonly V1Service[];
    try {
      listed = this.services.items();
    } catch {
      return; // not listed yet (or dropped): its onChange runs the pass once it is
    }
    const existing = new Map(listed.map((svc) => [svc.metadata?.name ?? '', svc]));
    const served = host.served();
    const wanted = new Set<string>();
    let failed = false;
    for (const address of served) {
      if (wanted.size >= MAX_PROXY_SERVICES) {
        this.trouble(
          address.address,
          `the network serves more than ${MAX_PROXY_SERVICES} addresses: no proxy Service for "${address.address}"`,
        );
        continue;
      }
      wanted.add(address.address);
      if (!(await this.serve(address, existing.get(address.address), owner))) failed = true;
    }
    const now = Date.now();
    let nextExpiry = Number.POSITIVE_INFINITY;
    for (const [name, svc] of existing) {
      if (wanted.has(name) || !ownedBy(svc, owner)) continue;
      const since = this.goneSince.get(name) ?? now;
      this.goneSince.set(name, since);
      const expires = since + this.opts.graceMs;
      if (expires > now) {
        nextExpiry = Math.min(nextExpiry, expires);
        continue;
      }
      if (!(await this.remove(name, svc))) failed = true;
    }
    for (const name of this.goneSince.keys()) {
      if (wanted.has(name) || !existing.has(name)) this.goneSince.delete(name);
    }
    // A problem lasts while its address is served (past the bound too) and it stays unsolved.
    const servedNames = new Set(served.map((a) => a.address));
    for (const address of this.troubles.keys()) {
      if (!servedNames.has(address)) this.settled(address);
    }
    for (const address of this.ports.addresses()) {
      if (!wanted.has(address) && !this.goneSince.has(address)) await this.ports.release(address);
    }
    if (failed) this.later(this.backoff.delay());
    else {
      this.backoff.reset();
      if (nextExpiry !== Number.POSITIVE_INFINITY) this.later(nextExpiry - now);
    }
  }

  /** Makes or corrects the Service of one served address; false when a call failed. */
  private async serve(
    address: ServedAddress,
    svc: V1Service | undefined,
    owner: Owner,
  ): Promise<boolean> {
    const name = address.address;
    const where = this.where(name);
    const badName = serviceNameProblem(name, 'address');
    if (badName !== undefined) {
      this.trouble(name, `${badName}: no proxy Service for it`);
      return true;
    }
    if (svc !== undefined && !ownedBy(svc, owner)) {
      await this.ports.release(name);
      this.trouble(
        name,
        `${where} exists and is not skiff's (no ownerReference to configmaps "${owner.name}" and label skiff.dev/kind=proxy): it is left untouched and apps here do not reach address "${name}" by that name; rename or delete that Service, or expose the address under another name`,
        'clash',
      );
      return true;
    }
    if (address.ports.length === 0) {
      this.trouble(
        name,
        `no site serving "${name}" advertises its port (their routers predate ports in adverts): no proxy Service for it`,
      );
      return true;
    }
    const servicePorts = address.ports.slice(0, MAX_PORTS_PER_ADDRESS);
    const before = svc === undefined ? new Map<number, number>() : targetPortsOf(svc);
    const ports: ProxyPort[] = [];
    try {
      for (const port of servicePorts) {
        ports.push({ port, targetPort: await this.ports.ensure(name, port, before.get(port)) });
      }
      await this.ports.release(name, new Set(servicePorts));
    } catch (err) {
      this.trouble(name, `cannot listen for address "${name}": ${describe(err)}`);
      return false;
    }
    const desired = desiredService(name, ports, owner);
    const { core, namespace } = this.opts.kube;
    const verb = svc === undefined ? 'create' : 'update';
    try {
      if (svc === undefined) {
        await core.createNamespacedService({
          namespace,
          body: desired,
          fieldManager: FIELD_MANAGER,
        });
        this.opts.logger.info({ address: name, ports }, 'proxy Service created');
      } else {
        const body = corrected(svc, desired);
        if (body !== undefined) {
          // The resourceVersion in the body makes it a compare-and-swap: a 409 means a newer one.
          await core.replaceNamespacedService({
            name,
            namespace,
            body,
            fieldManager: FIELD_MANAGER,
          });
          this.opts.logger.info({ address: name, ports }, 'proxy Service updated');
        }
      }
    } catch (err) {
      // Already there, or changed meanwhile: the watch brings the newer object, and a pass with it.
      if (kubeError(err)?.code === 409) return true;
      this.trouble(name, apiFailure(err, verb, `services "${name}"`, namespace).message);
      return false;
    }
    this.settled(name);
    return true;
  }

  /**
   * Deletes our Service, only as it was seen (uid and resourceVersion); false when a call
   * failed. Its router port is let go first, so once the Service is gone its port is too.
   */
  private async remove(name: string, svc: V1Service): Promise<boolean> {
    const { core, namespace } = this.opts.kube;
    await this.ports.release(name);
    try {
      await core.deleteNamespacedService({
        name,
        namespace,
        body: {
          preconditions: {
            uid: svc.metadata?.uid ?? '',
            resourceVersion: svc.metadata?.resourceVersion ?? '',
          },
        },
      });
      this.opts.logger.info({ address: name, graceMs: this.opts.graceMs }, 'proxy Service deleted');
    } catch (err) {
      if (!notFound(err) && kubeError(err)?.code !== 409) {
        this.trouble(name, apiFailure(err, 'delete', `services "${name}"`, namespace).message);
        return false;
      }
    }
    this.goneSince.delete(name);
    return true;
  }

  private where(name: string): string {
    return `services "${name}" in namespace ${this.opts.kube.namespace}`;
  }

  /** Records a problem of the address; a new one is logged (once, until it changes). */
  private trouble(address: string, problem: string, kind: 'clash' | 'failure' = 'failure'): void {
    const old = this.troubles.get(address);
    this.troubles.set(address, {
      kind: 'service',
      name: address,
      where: this.where(address),
      problem,
    });
    if (old?.problem === problem) return;
    if (kind === 'clash') {
      this.opts.logger.warn(
        { address, where: this.where(address) },
        'proxy Service name taken by another Service; left untouched',
      );
    } else {
      this.opts.logger.warn({ address, err: problem }, 'proxy Service not made');
    }
  }

  private settled(address: string): void {
    if (this.troubles.delete(address))
      this.opts.logger.info({ address }, 'proxy Service problem resolved');
  }
}
