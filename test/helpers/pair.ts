import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { ConnectorInfo, LinkInfo } from '../../src/admin/api.js';
import { cliOk } from './cli.js';
import { createListener } from './listeners.js';
import { match, RouterProcess } from './router.js';
import { destroyClients } from './tcp.js';
import { Cleanup, pollUntil } from './wait.js';

/** Site names used by the fixtures: A issues tokens, B dials. */
export const SITE_A = 'site-a';
export const SITE_B = 'site-b';

export interface SiteFixtureOptions {
  /** settings.json for both routers. Default: a 1 s reconnect cap so restarts stay quick. */
  settings?: Record<string, number>;
}

export interface TwoSites {
  /** The issuing site (accepts the link). */
  a: RouterProcess;
  /** The dialling site (redeems the token). */
  b: RouterProcess;
  /** A temp dir for token files and the like, removed by dispose(). */
  workDir: string;
  /** Kills both routers and removes every temp dir, even if called after a failure. */
  dispose(): Promise<void>;
}

export interface LinkedSites extends TwoSites {
  /** B's outgoing link as `link create -o json` printed it (named after A). */
  link: LinkInfo;
}

const defaultSettings = { backoffMaxMs: 1000 };

/** Anything the fixture closes in after(): a TcpServer, an HTTP service, ... */
export interface Closable {
  close(): Promise<void>;
}

export interface UseLinkedSitesOptions extends SiteFixtureOptions {
  /** Runs in the same before() hook once the sites are linked (e.g. services exposed both ways). */
  setup?: (sites: LinkedSites, servers: Closable[]) => Promise<void>;
  /** before() timeout, default 60 s: starting and linking two routers, plus `setup`. */
  beforeTimeoutMs?: number;
  /** after() timeout, default 30 s. */
  afterTimeoutMs?: number;
}

export interface LinkedSitesFixture {
  /** The linked sites; throws if before() has not run or failed. */
  sites(): LinkedSites;
  /** Closed one after another in after(), before the sites are disposed. */
  servers: Closable[];
}

/**
 * Registers, in the calling describe(), a before() hook that starts two linked sites
 * (twoLinkedSites(options)) and runs `setup`, and an after() hook that closes every entry of
 * `servers` and then disposes of the sites.
 */
export function useLinkedSites({
  setup,
  beforeTimeoutMs = 60_000,
  afterTimeoutMs = 30_000,
  ...fixture
}: UseLinkedSitesOptions = {}): LinkedSitesFixture {
  let sites: LinkedSites | undefined;
  const servers: Closable[] = [];

  before(
    async () => {
      sites = await twoLinkedSites(fixture);
      await setup?.(sites, servers);
    },
    { timeout: beforeTimeoutMs },
  );

  after(
    async () => {
      for (const server of servers.splice(0)) await server.close();
      await sites?.dispose();
    },
    { timeout: afterTimeoutMs },
  );

  return {
    sites: () => {
      if (!sites) throw new Error('the linked sites are not there: before() has not run or failed');
      return sites;
    },
    servers,
  };
}

/** Two running routers, not linked yet. */
export async function twoSites({
  settings = defaultSettings,
}: SiteFixtureOptions = {}): Promise<TwoSites> {
  const cleanup = new Cleanup();
  cleanup.add(destroyClients); // runs last: after the routers are gone no client can be left
  try {
    const workDir = await mkdtemp(join(tmpdir(), 'skiff-it-work-'));
    cleanup.add(() => rm(workDir, { recursive: true, force: true }));
    const [a, b] = await Promise.all(
      [SITE_A, SITE_B].map(async (name) => {
        const router = await RouterProcess.create({ name, settings });
        cleanup.add(() => router.dispose());
        await router.start();
        return router;
      }),
    );
    return { a: a!, b: b!, workDir, dispose: () => cleanup.run() };
  } catch (err) {
    await cleanup.run().catch(() => {});
    throw err;
  }
}

/** Two running routers, B linked to A from a token of A, `link up` seen on both sides. */
export async function twoLinkedSites(options: SiteFixtureOptions = {}): Promise<LinkedSites> {
  const sites = await twoSites(options);
  try {
    const link = await linkSites(sites.a, sites.b, sites.workDir);
    return { ...sites, link };
  } catch (err) {
    await sites.dispose().catch(() => {});
    throw err;
  }
}

let tokenCount = 0;

/** `token create FILE [...args]` at `issuer`; returns the new token file's path. */
export async function createToken(
  issuer: RouterProcess,
  workDir: string,
  args: readonly string[] = [],
): Promise<string> {
  tokenCount += 1;
  const file = join(workDir, `token-${tokenCount}.yaml`);
  await cliOk(issuer.stateDir, ['token', 'create', file, ...args]);
  return file;
}

/**
 * `link create` at `dialler` with a fresh token of `issuer`, then awaits `link up` at both
 * ends: direction out at the dialler (link named `name`, default the issuer's site name), and
 * direction in at the issuer (link named after the dialler).
 */
export async function linkSites(
  issuer: RouterProcess,
  dialler: RouterProcess,
  workDir: string,
  {
    name,
    cost,
    tokenArgs = [],
  }: { name?: string; cost?: number; tokenArgs?: readonly string[] } = {},
): Promise<LinkInfo> {
  const token = await createToken(issuer, workDir, tokenArgs);
  const sinceIssuer = issuer.mark();
  const sinceDialler = dialler.mark();
  const link = await dialler.json<LinkInfo>([
    'link',
    'create',
    token,
    ...(name === undefined ? [] : ['--name', name]),
    ...(cost === undefined ? [] : ['--cost', String(cost)]),
  ]);
  const expectedName = name ?? issuer.name;
  assert.equal(link.name, expectedName, 'link create prints the new link');
  assert.equal(link.direction, 'out');
  if (cost !== undefined) assert.equal(link.cost, cost, 'link create prints the cost given');
  await awaitLinkUp(issuer, dialler, expectedName, { sinceIssuer, sinceDialler });
  return link;
}

/** Awaits `link up` for one link at both its ends (events since the given marks). */
export async function awaitLinkUp(
  issuer: RouterProcess,
  dialler: RouterProcess,
  linkName: string,
  {
    sinceIssuer,
    sinceDialler,
    timeoutMs = 15_000,
    issuerLinkName = dialler.name,
  }: {
    sinceIssuer: number;
    sinceDialler: number;
    timeoutMs?: number;
    /** The issuer's name for the link: the dialler's site name unless that was taken. */
    issuerLinkName?: string;
  },
): Promise<void> {
  await Promise.all([
    dialler.waitForEvent(
      match('link up', { link: linkName, direction: 'out', peer: issuer.name }),
      {
        since: sinceDialler,
        timeoutMs,
      },
    ),
    issuer.waitForEvent(
      match('link up', { link: issuerLinkName, direction: 'in', peer: dialler.name }),
      {
        since: sinceIssuer,
        timeoutMs,
      },
    ),
  ]);
}

/** Polls `status` at `router` until `siteName` is listed as having a connector for `address`. */
export async function waitForAddress(
  router: RouterProcess,
  address: string,
  siteName: string,
  timeoutMs = 15_000,
): Promise<void> {
  await pollUntil(
    `${router.name} to learn that ${siteName} has a connector for "${address}" (status.addresses)`,
    async () => {
      const status = await router.status();
      return status.addresses.some((a) => a.address === address && a.sites.includes(siteName));
    },
    { timeoutMs },
  );
}

/** `expose ADDRESS --target 127.0.0.1:targetPort` at `site`, asserting what it prints. */
export async function expose(
  site: RouterProcess,
  address: string,
  targetPort: number,
): Promise<ConnectorInfo> {
  const connector = await site.json<ConnectorInfo>([
    'expose',
    address,
    '--target',
    `127.0.0.1:${targetPort}`,
  ]);
  assert.equal(connector.address, address);
  assert.equal(connector.port, targetPort);
  return connector;
}

/**
 * `listener create ADDRESS --port P` at `site` on a picked port, another one if P was taken
 * meanwhile; asserts it is bound, returns P.
 */
export async function listen(site: RouterProcess, address: string): Promise<number> {
  return (await createListener(site, address)).port;
}

/**
 * `expose ADDRESS --target 127.0.0.1:targetPort` at `connectorSite`, waits until
 * `listenerSite` knows the address, then `listener create ADDRESS --port P` there.
 * Returns the listener's port.
 */
export async function exposeAndListen(
  connectorSite: RouterProcess,
  listenerSite: RouterProcess,
  address: string,
  targetPort: number,
): Promise<number> {
  await expose(connectorSite, address, targetPort);
  await waitForAddress(listenerSite, address, connectorSite.name);
  return listen(listenerSite, address);
}

/** The named link in `router`'s `link status`, or undefined. */
export async function findLink(router: RouterProcess, name: string): Promise<LinkInfo | undefined> {
  return (await router.links()).find((link) => link.name === name);
}
