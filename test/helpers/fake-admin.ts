/**
 * A stand-in router for tests of the admin transport and the CLI: an AdminApi that
 * returns fixed sample results, records each call, and can be told to fail a method.
 * The router itself is tested elsewhere; here the gRPC mapping and the CLI are.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  AdminApi,
  ConnectorInfo,
  ConsoleInfo,
  CreatedToken,
  EndpointRequest,
  LinkInfo,
  ListenerInfo,
  NetworkStatus,
  SiteStatus,
  TokenInfo,
} from '../../src/admin/api.js';
import { type AdminServer, startAdminServer } from '../../src/admin/server.js';
import { adminSocketPath } from '../../src/config/paths.js';
import { silentLogger } from '../../src/log.js';

export const sampleLinks: LinkInfo[] = [
  {
    id: '4f0c1d2e3a4b',
    name: 'east',
    direction: 'out',
    peerSiteId: '6f1c2a8e-0000-4000-8000-000000000002',
    peerSiteName: 'east',
    cost: 1,
    state: 'up',
    url: 'wss://east.example:8443/v1/link',
    since: '2025-01-01T00:00:00.000Z',
    rttMs: 2.5,
    streams: 3,
  },
  {
    // Every optional field absent: they must stay absent through the transport.
    id: '5a6b7c8d9e0f',
    name: 'north',
    direction: 'in',
    peerSiteId: '6f1c2a8e-0000-4000-8000-000000000003',
    peerSiteName: 'north',
    cost: 5,
    state: 'down',
    since: '2025-01-01T00:00:01.000Z',
    streams: 0,
  },
  {
    id: '6c7d8e9f0a1b',
    name: 'south',
    direction: 'out',
    peerSiteId: '',
    peerSiteName: '',
    cost: 2,
    state: 'connecting',
    url: 'wss://south.example:8443/v1/link',
    lastError: 'connect ECONNREFUSED 10.0.0.9:8443',
    since: '2025-01-01T00:00:02.000Z',
    streams: 0,
  },
];

export const sampleListeners: ListenerInfo[] = [
  { address: 'api', host: '127.0.0.1', port: 18080, state: 'bound', activeStreams: 1 },
  {
    address: 'db.internal',
    host: '::1',
    port: 15432,
    state: 'retrying',
    error: 'port 15432 is in use',
    activeStreams: 0,
  },
];

export const sampleConnectors: ConnectorInfo[] = [
  { address: 'api', host: '127.0.0.1', port: 8080, state: 'ready', activeStreams: 2 },
];

export const sampleTokens: TokenInfo[] = [
  {
    id: '0123456789abcdef0123456789abcdef',
    uses: 2,
    used: 1,
    expires: '2025-01-01T00:15:00.000Z',
    created: '2025-01-01T00:00:00.000Z',
    state: 'active',
  },
];

export const sampleStatus: SiteStatus = {
  site: {
    id: '6f1c2a8e-0000-4000-8000-000000000001',
    name: 'west',
    platform: 'local',
    linkUrl: 'wss://127.0.0.1:8443/v1/link',
    linkAccess: true,
  },
  version: '0.1.0',
  pid: 4242,
  uptimeSeconds: 3725,
  links: sampleLinks,
  listeners: sampleListeners,
  connectors: sampleConnectors,
  addresses: [
    { address: 'api', sites: ['west', 'east'] },
    { address: 'db.internal', sites: [] },
  ],
  // Beyond 2^32, to prove 64-bit counters survive as numbers.
  streams: { active: 4, total: 5_000_000_000 },
  buffered: { current: 12_288, peak: 1_572_864 },
  problems: [],
};

export const sampleNetwork: NetworkStatus = {
  sites: [
    { id: sampleStatus.site.id, name: 'west', reachable: true, addresses: ['api'] },
    { id: sampleLinks[0]!.peerSiteId, name: 'east', reachable: false, addresses: [] },
  ],
  links: [
    { from: 'west', to: 'east', cost: 1, rttMs: 2.5 },
    { from: 'west', to: 'north', cost: 5 },
  ],
  addresses: sampleStatus.addresses,
};

export const sampleToken: CreatedToken = {
  yaml: 'kind: skiff-token\nsecret: not-a-real-secret\n',
  // The token listTokens returns first: `token create` prints the listed item.
  id: '0123456789abcdef0123456789abcdef',
  expires: '2025-01-01T00:15:00.000Z',
  uses: 1,
};

export const sampleConsole: ConsoleInfo = {
  url: 'http://127.0.0.1:18090/?token=not-a-real-token',
  host: '127.0.0.1',
  port: 18090,
  started: true,
};

export const sampleDump = '{\n  "hello": "dump"\n}\n';

export interface FakeAdmin {
  api: AdminApi;
  /** Each call's method name and arguments, in order. */
  calls: Array<{ method: keyof AdminApi; args: unknown[] }>;
  /** Make a method reject with (or throw synchronously) this value. */
  failWith(method: keyof AdminApi, err: unknown): void;
  /** Make a method never settle (for deadline tests). */
  hang(method: keyof AdminApi): void;
}

/** A request's endpoint, without the request-only `replace`. */
function endpoint({ address, host, port }: EndpointRequest) {
  return { address, host, port };
}

export function fakeAdmin(): FakeAdmin {
  const calls: FakeAdmin['calls'] = [];
  const failures = new Map<keyof AdminApi, unknown>();
  const hanging = new Set<keyof AdminApi>();

  function answer<T>(method: keyof AdminApi, args: unknown[], value: T): Promise<T> {
    calls.push({ method, args });
    if (hanging.has(method)) return new Promise<T>(() => undefined);
    if (failures.has(method)) return Promise.reject(failures.get(method));
    return Promise.resolve(structuredClone(value));
  }

  const api: AdminApi = {
    status: () => answer('status', [], sampleStatus),
    createToken: (req) => answer('createToken', [req], { ...sampleToken, uses: req.uses }),
    listTokens: () => answer('listTokens', [], sampleTokens),
    revokeToken: (id) =>
      answer('revokeToken', [id], { ...sampleTokens[0]!, id, state: 'revoked' as const }),
    createLink: (req) =>
      answer('createLink', [req], { ...sampleLinks[0]!, name: req.name ?? 'east', cost: req.cost }),
    updateLink: (req) => answer('updateLink', [req], { ...sampleLinks[0]!, ...req }),
    deleteLink: (name) => answer('deleteLink', [name], undefined),
    listLinks: () => answer('listLinks', [], sampleLinks),
    expose: (req) =>
      answer('expose', [req], { ...endpoint(req), state: 'ready' as const, activeStreams: 0 }),
    updateConnector: (req) => answer('updateConnector', [req], { ...sampleConnectors[0]!, ...req }),
    unexpose: (address) => answer('unexpose', [address], undefined),
    listConnectors: () => answer('listConnectors', [], sampleConnectors),
    createListener: (req) =>
      answer('createListener', [req], {
        ...endpoint(req),
        state: 'bound' as const,
        activeStreams: 0,
      }),
    updateListener: (req) => answer('updateListener', [req], { ...sampleListeners[0]!, ...req }),
    deleteListener: (address) => answer('deleteListener', [address], undefined),
    listListeners: () => answer('listListeners', [], sampleListeners),
    networkStatus: () => answer('networkStatus', [], sampleNetwork),
    debugDump: () => answer('debugDump', [], sampleDump),
    startConsole: (req) => answer('startConsole', [req], sampleConsole),
  };

  return {
    api,
    calls,
    failWith: (method, err) => failures.set(method, err),
    hang: (method) => hanging.add(method),
  };
}

/** A fresh temp state dir and a fresh FakeAdmin for it; nothing listens until serve(). */
export interface FakeRouterDir {
  /** The state dir: the admin socket goes at adminSocketPath(dir). */
  dir: string;
  fake: FakeAdmin;
  /** Starts the real admin server for `fake.api` on the dir's admin socket. */
  serve(): Promise<AdminServer>;
  /** Removes the dir and everything in it. */
  remove(): Promise<void>;
}

/** mkdtemp(`<tmpdir>/<prefix>XXXXXX`) and fakeAdmin(), for tests of the admin transport and the CLI. */
export async function fakeRouterDir(prefix: string): Promise<FakeRouterDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const fake = fakeAdmin();
  return {
    dir,
    fake,
    serve: () => startAdminServer(fake.api, adminSocketPath(dir), silentLogger),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
