import type { SiteInfo } from '../admin/api.js';
import { nameProblem } from '../config/rules.js';
import { ErrorCode, SkiffError } from '../errors.js';
import { LINK_PATH } from '../link/paths.js';
import type { Logger } from '../log.js';
import { createCa, createServerCert, siteIdOfCert } from '../pki/index.js';
import { FileStore } from '../state/file-store.js';
import type { StateStore } from '../state/store.js';
import { CA_SECRET, SERVER_SECRET, SITE_KEY, type SiteRecord } from './records.js';

export interface CreateSiteOptions {
  stateDir: string;
  name: string;
  linkHost?: string;
  linkPort: number;
  linkBindPort?: number;
  linkAccess: boolean;
  logger: Logger;
}

/** Without --link-host a site is reachable on this machine only: nothing is exposed by surprise. */
export const DEFAULT_LINK_HOST = '127.0.0.1';
export const DEFAULT_LINK_PORT = 8443;

export async function createSite(opts: CreateSiteOptions): Promise<SiteInfo> {
  const problem = nameProblem(opts.name, 'site name');
  if (problem !== undefined) throw new SkiffError(ErrorCode.INVALID_ARGUMENT, problem);
  const store = new FileStore(opts.stateDir);
  await store.init();
  const existing = await store.get('site', SITE_KEY);
  if (existing) {
    throw new SkiffError(
      ErrorCode.ALREADY_EXISTS,
      `${opts.stateDir} already holds site "${existing.name}"; use another --state-dir`,
    );
  }
  const record = await initSite(store, opts);
  opts.logger.info({ site: record.name, id: record.id }, 'site created');
  return siteInfo(record);
}

/** Makes the CA and link server certificate; the site record is written last, as the commit point. */
export async function initSite(
  store: StateStore,
  opts: Omit<CreateSiteOptions, 'stateDir' | 'logger'>,
): Promise<SiteRecord> {
  for (const name of [CA_SECRET, SERVER_SECRET]) {
    if (await store.hasSecret(name)) {
      throw new SkiffError(
        ErrorCode.ALREADY_EXISTS,
        `${store.locate('key', name)} already exists; a site is never created over existing keys: use an empty --state-dir`,
      );
    }
  }
  const linkHost = opts.linkHost ?? DEFAULT_LINK_HOST;
  const ca = await createCa(`skiff site CA ${opts.name}`);
  const server = await createServerCert(ca, { commonName: opts.name, hosts: [linkHost] });
  await store.putSecret(CA_SECRET, ca.keyPem);
  await store.putSecret(SERVER_SECRET, server.keyPem);
  const record: SiteRecord = {
    id: siteIdOfCert(ca.certPem),
    name: opts.name,
    linkHost,
    linkPort: opts.linkPort,
    ...(opts.linkBindPort === undefined ? {} : { linkBindPort: opts.linkBindPort }),
    linkAccess: opts.linkAccess,
    caPem: ca.certPem,
    serverCertPem: server.certPem,
    createdAt: new Date().toISOString(),
  };
  await store.put('site', SITE_KEY, record);
  return record;
}

/**
 * A site's id is derived from its CA key (docs/decisions/0009-trust-model.md); a site made
 * by an older skiff has a random id that no peer could verify, and is refused.
 */
export function checkSiteId(site: SiteRecord, where: string): void {
  let derived = '';
  try {
    derived = siteIdOfCert(site.caPem);
  } catch {
    // an unreadable CA is reported below like a mismatched one
  }
  if (derived !== site.id) {
    throw new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `site "${site.name}" in ${where} has an id not derived from its CA (made by an older skiff); recreate the site: skiff site delete, then skiff site create`,
    );
  }
}

export function linkUrl(site: SiteRecord): string {
  return linkUrlOf(site.linkHost, site.linkPort);
}

/** The link URL of a host (name or address) and port. */
export function linkUrlOf(linkHost: string, port: number): string {
  const host = linkHost.includes(':') ? `[${linkHost}]` : linkHost;
  return `wss://${host}:${port}${LINK_PATH}`;
}

export function siteInfo(site: SiteRecord, platform: SiteInfo['platform'] = 'local'): SiteInfo {
  return {
    id: site.id,
    name: site.name,
    platform,
    linkAccess: site.linkAccess,
    ...(site.linkAccess ? { linkUrl: linkUrl(site) } : {}),
  };
}
