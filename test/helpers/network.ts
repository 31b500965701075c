/**
 * Fixtures for a service network of several routers: start N sites (some behind a cuttable
 * proxy), link them with costs, expose and listen, and await what each router has computed
 * from the `routes changed` events it logs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { LinkInfo } from '../../src/admin/api.js';
import { expose, linkSites, listen } from './pair.js';
import { type CuttableProxy, startProxy } from './proxy.js';
import { type RouterEvent, RouterProcess } from './router.js';
import { destroyClients } from './tcp.js';
import { Cleanup } from './wait.js';

/** Settings that keep reconnects and dead-peer detection within a second or three. */
export const FAST_SETTINGS = { backoffMaxMs: 1000, pingIntervalMs: 1000, idleTimeoutMs: 3000 };

/** What one router has computed: the sites it can reach, and which reachable sites serve each address. */
export interface Routes {
  reachable: string[];
  addresses: Record<string, string[]>;
}

export function routesOf(event: RouterEvent): Routes {
  return {
    reachable: Array.isArray(event.reachable) ? (event.reachable as string[]) : [],
    addresses:
      typeof event.addresses === 'object' && event.addresses !== null
        ? (event.addresses as Record<string, string[]>)
        : {},
  };
}

/** A condition on a router's routes, with words for the timeout message. */
export interface RoutesCheck {
  description: string;
  test(routes: Routes): boolean;
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && b.every((x) => a.includes(x));

/**
 * Routes in which every `reachable` site is reachable, no `unreachable` site is, and each
 * address in `served` is served by exactly the sites listed (an empty list: by none).
 */
export function routesWhere({
  reachable = [],
  unreachable = [],
  served = {},
}: {
  reachable?: readonly string[];
  unreachable?: readonly string[];
  served?: Record<string, readonly string[]>;
}): RoutesCheck {
  return {
    description: JSON.stringify({ reachable, unreachable, served }),
    test: (r) =>
      reachable.every((s) => r.reachable.includes(s)) &&
      unreachable.every((s) => !r.reachable.includes(s)) &&
      Object.entries(served).every(([address, sites]) =>
        sameSet(r.addresses[address] ?? [], sites),
      ),
  };
}

/** The latest routes `router`'s current process has logged, or undefined if none yet. */
export function latestRoutes(router: RouterProcess): Routes | undefined {
  const events = router.eventsSince(router.startMark, (e) => e.msg === 'routes changed');
  const last = events.at(-1);
  return last === undefined ? undefined : routesOf(last);
}

export interface RoutesSeen {
  routes: Routes;
  event: RouterEvent;
  /** When the test process read the event (performance.now() clock). */
  at: number;
}

/**
 * Resolves when `router` has logged `routes changed` satisfying `check`. By default its
 * current routes count (the latest event of its current process, if any); pass `since`
 * (a mark() taken before an action) to require an event logged after that action.
 */
export async function waitForRoutes(
  router: RouterProcess,
  check: RoutesCheck,
  { since, timeoutMs = 15_000 }: { since?: number; timeoutMs?: number } = {},
): Promise<RoutesSeen> {
  let from = since;
  if (from === undefined) {
    from = router.startMark;
    for (let i = router.events.length - 1; i >= router.startMark; i--) {
      if (router.events[i]!.msg === 'routes changed') {
        from = i;
        break;
      }
    }
  }
  const predicate = Object.assign(
    (e: RouterEvent) => e.msg === 'routes changed' && check.test(routesOf(e)),
    { description: `"routes changed" with ${check.description}` },
  );
  try {
    const event = await router.waitForEvent(predicate, { since: from, timeoutMs });
    return { routes: routesOf(event), event, at: router.receivedTime(event) };
  } catch (err) {
    const last = latestRoutes(router);
    throw new Error(
      `${(err as Error).message}\nlatest routes at ${router.name}: ${JSON.stringify(last)}`,
      { cause: err },
    );
  }
}

export interface SiteSpec {
  name: string;
  /** Put a CuttableProxy on the port its tokens advertise, in front of its link server. */
  proxied?: boolean;
}

export interface NetworkOptions {
  /** settings.json for every router; default FAST_SETTINGS. */
  settings?: Record<string, number>;
  /** Extra environment for every router (e.g. SKIFF_LOG_LEVEL: 'debug'). */
  env?: NodeJS.ProcessEnv;
}

/**
 * When set, dispose() writes every router's events to `<dir>/<site>.jsonl` first: the logs
 * of a failed run, to read afterwards (SKIFF_TEST_LOG_DIR=/tmp/logs npm test).
 */
const LOG_DIR = process.env.SKIFF_TEST_LOG_DIR;

/**
 * Running routers by name, the proxies in front of some of them, a work dir for tokens, and
 * one Cleanup for all of it (plus anything registered with track()). dispose() undoes it all,
 * also after a failure half way through start().
 */
export class Network {
  private readonly routers = new Map<string, RouterProcess>();
  private readonly proxies = new Map<string, CuttableProxy>();

  private constructor(
    readonly workDir: string,
    private readonly cleanup: Cleanup,
  ) {}

  static async start(
    sites: ReadonlyArray<string | SiteSpec>,
    { settings = FAST_SETTINGS, env = {} }: NetworkOptions = {},
  ): Promise<Network> {
    const cleanup = new Cleanup();
    cleanup.add(destroyClients); // runs last: no client socket outlives the routers
    try {
      const workDir = await mkdtemp(join(tmpdir(), 'skiff-it-net-'));
      cleanup.add(() => rm(workDir, { recursive: true, force: true }));
      const network = new Network(workDir, cleanup);
      await Promise.all(
        sites.map((spec) =>
          network.startSite(typeof spec === 'string' ? { name: spec } : spec, settings, env),
        ),
      );
      return network;
    } catch (err) {
      await cleanup.run().catch(() => {});
      throw err;
    }
  }

  private async startSite(
    { name, proxied = false }: SiteSpec,
    settings: Record<string, number>,
    env: NodeJS.ProcessEnv,
  ): Promise<void> {
    // A proxied site's tokens advertise the proxy's port: the proxy binds first (port 0,
    // held until dispose) and forwards to the port the router binds once it has started.
    const proxy = proxied
      ? await startProxy({ port: 0, targetPort: () => router.bindPort })
      : undefined;
    if (proxy) {
      this.cleanup.add(() => proxy.close());
      this.proxies.set(name, proxy);
    }
    const router = await RouterProcess.create({
      name,
      settings,
      env,
      ...(proxy ? { advertisedPort: proxy.port } : {}),
    });
    this.cleanup.add(() => router.dispose());
    this.routers.set(name, router);
    await router.start();
  }

  site(name: string): RouterProcess {
    const router = this.routers.get(name);
    if (!router) throw new Error(`no site ${name} in this network`);
    return router;
  }

  /** Every router, in the order the sites were given to start(). */
  get sites(): RouterProcess[] {
    return [...this.routers.values()];
  }

  /** The proxy in front of `name`'s link server (a site started with proxied: true). */
  proxy(name: string): CuttableProxy {
    const proxy = this.proxies.get(name);
    if (!proxy) throw new Error(`site ${name} has no proxy`);
    return proxy;
  }

  /** "`dialler` linked to `issuer`": a token of the issuer redeemed at the dialler; awaits link up at both ends. */
  link(dialler: string, issuer: string, { cost }: { cost?: number } = {}): Promise<LinkInfo> {
    return linkSites(
      this.site(issuer),
      this.site(dialler),
      this.workDir,
      cost === undefined ? {} : { cost },
    );
  }

  /** Several link() at once: [dialler, issuer] pairs, or [dialler, issuer, cost]. */
  async linkAll(
    pairs: ReadonlyArray<readonly [string, string] | readonly [string, string, number]>,
  ) {
    return Promise.all(
      pairs.map(([dialler, issuer, cost]) =>
        this.link(dialler, issuer, cost === undefined ? {} : { cost }),
      ),
    );
  }

  /** `expose ADDRESS --target 127.0.0.1:port` at `site`. */
  async expose(site: string, address: string, port: number): Promise<void> {
    await expose(this.site(site), address, port);
  }

  /** A bound listener for `address` at `site`; returns its port. */
  listen(site: string, address: string): Promise<number> {
    return listen(this.site(site), address);
  }

  /** Closes `resource` on dispose(), before the routers go. Returns it. */
  track<T extends { close(): Promise<void> }>(resource: T): T {
    this.cleanup.add(() => resource.close());
    return resource;
  }

  /** Kills every router, closes proxies and tracked servers, removes every temp dir. */
  async dispose(): Promise<void> {
    if (LOG_DIR) await this.saveLogs(LOG_DIR).catch(() => {});
    await this.cleanup.run();
  }

  private async saveLogs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const router of this.routers.values()) {
      const lines = router.events.map((e) => JSON.stringify(e)).join('\n');
      await writeFile(join(dir, `${router.name}.jsonl`), `${lines}\n`);
    }
  }
}

export interface UseNetworkOptions extends NetworkOptions {
  /** Linked in before() once every site runs, as Network.linkAll() takes them. */
  links?: Parameters<Network['linkAll']>[0];
  /** Runs in the same before() hook after the links are up (expose, listen, await routes). */
  setup?: (net: Network) => Promise<void>;
  /** before() timeout, default 60 s. */
  beforeTimeoutMs?: number;
  /** after() timeout, default 30 s. */
  afterTimeoutMs?: number;
}

/**
 * Registers, in the calling describe(), a before() hook that starts a Network of `sites`,
 * links `links` and runs `setup`, and an after() hook that disposes of it (also when before()
 * failed half way). Returns an accessor for the network, which throws until before() has run.
 */
export function useNetwork(
  sites: ReadonlyArray<string | SiteSpec>,
  {
    links,
    setup,
    beforeTimeoutMs = 60_000,
    afterTimeoutMs = 30_000,
    ...options
  }: UseNetworkOptions = {},
): () => Network {
  let net: Network | undefined;

  before(
    async () => {
      const n = await Network.start(sites, options);
      net = n;
      if (links !== undefined) await n.linkAll(links);
      await setup?.(n);
    },
    { timeout: beforeTimeoutMs },
  );

  after(() => net?.dispose(), { timeout: afterTimeoutMs });

  return () => {
    if (!net) throw new Error('the network is not there: before() has not run or failed');
    return net;
  };
}
