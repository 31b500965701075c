import type { NetworkStatus, SiteStatus } from '../admin/api.js';
import type { WatchHealth } from './record-watch.js';

/** The ConfigMap the router writes its status to, and the data key holding it (JSON). */
export const STATUS_CONFIGMAP = 'skiff-status';
export const STATUS_KEY = 'status.json';
/**
 * The most the status document may take, whatever the size of the network: well under the
 * API server's 1 MiB object limit (Skupper's network-status ConfigMap reached 845 KB at 76
 * sites, skupper #2508), and small enough to rewrite and read every second.
 */
export const MAX_STATUS_BYTES = 128 * 1024;
/** Kept for the fields around the lists (site, router, watch, counts). */
const FIXED_RESERVE = 4 * 1024;
/** Error texts and the like are cut to this many characters. */
const MAX_TEXT = 256;
/** Sites named per address; the rest are counted. */
const MAX_SITES_PER_ADDRESS = 16;

/**
 * One list of the document: `total` items exist, `items` are the first of them (sorted by
 * name), and `more` says how many were left out to keep the document bounded.
 */
export interface StatusSection<T> {
  total: number;
  items: T[];
  more?: number;
}

export interface StatusLink {
  id: string;
  name: string;
  direction: string;
  peerSiteName: string;
  /** Added for the CLI on kubernetes (decision 0024); absent in documents of older routers. */
  peerSiteId?: string;
  cost?: number;
  url?: string;
  state: string;
  rttMs?: number;
  lastError?: string;
  since: string;
}

export interface StatusEndpoint {
  address: string;
  host: string;
  port: number;
  /** A connector's kubernetes target in place of host (decision 0022). */
  workload?: string;
  selector?: string;
  targetPort?: number | string;
  state: string;
  error?: string;
}

export interface StatusAddress {
  address: string;
  sites: string[];
  moreSites?: number;
}

export interface StatusProblem {
  kind: string;
  name: string;
  where: string;
  problem: string;
}

/** What `skiff-status` holds (`status.json`); fields are only ever added. */
export interface StatusDocument {
  apiVersion: 'skiff.dev/v1';
  kind: 'SiteStatus';
  updatedAt: string;
  site: { id: string; name: string; platform: string; linkUrl?: string };
  router: { version: string; pid: number; uptimeSeconds: number; state: 'running' | 'stopped' };
  /** Whether records written by others are being followed. */
  watch: WatchHealth;
  network: { sites: number; reachable: number };
  streams: { active: number; total: number };
  links: StatusSection<StatusLink>;
  connectors: StatusSection<StatusEndpoint>;
  listeners: StatusSection<StatusEndpoint>;
  /** Every address served anywhere in the network, and the sites serving it. */
  addresses: StatusSection<StatusAddress>;
  /** Records that were rejected (bad YAML, invalid fields, a wrong name): skipped until fixed. */
  problems: StatusSection<StatusProblem>;
}

export interface StatusInput {
  status: SiteStatus;
  network: NetworkStatus;
  watch: WatchHealth;
  state: 'running' | 'stopped';
  now: Date;
}

type Sections = Pick<
  StatusDocument,
  'links' | 'connectors' | 'listeners' | 'addresses' | 'problems'
>;

/**
 * The status document, at most MAX_STATUS_BYTES of JSON however many links, connectors,
 * listeners, addresses, sites and problems there are: every text is cut to MAX_TEXT, an
 * address names at most MAX_SITES_PER_ADDRESS sites, and the lists share what room is
 * left (a short list takes what it needs, the long ones split the rest), each cut one
 * saying how many `more` there are.
 */
export function statusDocument(input: StatusInput): StatusDocument {
  const { status, network } = input;
  const lists = {
    links: status.links.map(
      (l): StatusLink => ({
        id: l.id,
        name: l.name,
        direction: l.direction,
        peerSiteName: clip(l.peerSiteName),
        peerSiteId: clip(l.peerSiteId),
        cost: l.cost,
        ...(l.url === undefined ? {} : { url: clip(l.url) }),
        state: l.state,
        ...(l.rttMs === undefined ? {} : { rttMs: l.rttMs }),
        ...(l.lastError === undefined ? {} : { lastError: clip(l.lastError) }),
        since: l.since,
      }),
    ),
    connectors: status.connectors.map(
      (c): StatusEndpoint => ({
        ...endpoint(c.address, c.host, c.port, c.state, c.error),
        ...(c.workload === undefined ? {} : { workload: c.workload }),
        ...(c.selector === undefined ? {} : { selector: clip(c.selector) }),
        ...(c.targetPort === undefined ? {} : { targetPort: c.targetPort }),
      }),
    ),
    listeners: status.listeners.map(
      (l): StatusEndpoint => endpoint(l.address, l.host, l.port, l.state, l.error),
    ),
    addresses: network.addresses.map(
      (a): StatusAddress => ({
        address: a.address,
        sites: a.sites.slice(0, MAX_SITES_PER_ADDRESS).map(clip),
        ...(a.sites.length > MAX_SITES_PER_ADDRESS
          ? { moreSites: a.sites.length - MAX_SITES_PER_ADDRESS }
          : {}),
      }),
    ),
    problems: status.problems.map(
      (p): StatusProblem => ({
        kind: p.kind,
        name: clip(p.name),
        where: clip(p.where),
        problem: clip(p.problem),
      }),
    ),
  };
  const sorted = {
    links: lists.links.sort((a, b) => a.name.localeCompare(b.name)),
    connectors: lists.connectors.sort((a, b) => a.address.localeCompare(b.address)),
    listeners: lists.listeners.sort((a, b) => a.address.localeCompare(b.address)),
    addresses: lists.addresses.sort((a, b) => a.address.localeCompare(b.address)),
    problems: lists.problems.sort((a, b) => a.where.localeCompare(b.where)),
  };
  return {
    apiVersion: 'skiff.dev/v1',
    kind: 'SiteStatus',
    updatedAt: input.now.toISOString(),
    site: {
      id: status.site.id,
      name: status.site.name,
      platform: status.site.platform,
      ...(status.site.linkUrl === undefined ? {} : { linkUrl: clip(status.site.linkUrl) }),
    },
    router: {
      version: clip(status.version),
      pid: status.pid,
      uptimeSeconds: status.uptimeSeconds,
      state: input.state,
    },
    watch: { ...input.watch, ...(input.watch.error ? { error: clip(input.watch.error) } : {}) },
    network: {
      sites: network.sites.length,
      reachable: network.sites.filter((s) => s.reachable).length,
    },
    streams: { ...status.streams },
    ...fit(sorted, MAX_STATUS_BYTES - FIXED_RESERVE),
  };
}

/**
 * The document without what changes all the time (the time, uptime, RTTs, stream counts):
 * a new document is written when this differs, and the rest refreshed now and then.
 */
export function significant(doc: StatusDocument): string {
  return JSON.stringify({
    ...doc,
    updatedAt: undefined,
    router: { ...doc.router, uptimeSeconds: undefined },
    streams: undefined,
    links: { ...doc.links, items: doc.links.items.map(({ rttMs: _, ...l }) => l) },
  });
}

function endpoint(
  address: string,
  host: string,
  port: number,
  state: string,
  error: string | undefined,
): StatusEndpoint {
  return { address, host: clip(host), port, state, ...(error ? { error: clip(error) } : {}) };
}

function clip(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}

/**
 * Shares `budget` bytes among the lists: a list that fits an equal share keeps all its
 * items and leaves the rest of its share to the others (water-filling); a list that does
 * not keeps the items that fit its share, in order.
 */
function fit(lists: { [K in keyof Sections]: Sections[K]['items'] }, budget: number): Sections {
  const names = Object.keys(lists) as (keyof Sections)[];
  // A comma and a little more per item, so the share is never exceeded once serialized.
  const sizes = Object.fromEntries(
    names.map((n) => [
      n,
      (lists[n] as object[]).map((item) => Buffer.byteLength(JSON.stringify(item)) + 1),
    ]),
  ) as Record<keyof Sections, number[]>;
  const totals = Object.fromEntries(names.map((n) => [n, sum(sizes[n])])) as Record<
    keyof Sections,
    number
  >;
  const shares = {} as Record<keyof Sections, number>;
  let open = [...names];
  let left = budget;
  for (;;) {
    const share = open.length === 0 ? 0 : left / open.length;
    const small = open.filter((n) => totals[n] <= share);
    if (small.length === 0) {
      for (const n of open) shares[n] = share;
      break;
    }
    for (const n of small) {
      shares[n] = totals[n];
      left -= totals[n];
    }
    open = open.filter((n) => !small.includes(n));
  }
  const out = {} as Record<keyof Sections, StatusSection<unknown>>;
  for (const n of names) {
    const items = lists[n] as unknown[];
    let used = 0;
    let count = 0;
    while (count < items.length && used + sizes[n][count]! <= shares[n]) {
      used += sizes[n][count]!;
      count++;
    }
    out[n] = {
      total: items.length,
      items: items.slice(0, count),
      ...(count < items.length ? { more: items.length - count } : {}),
    };
  }
  return out as unknown as Sections;
}

function sum(values: number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
