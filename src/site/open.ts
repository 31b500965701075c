import { createPrivateKey, X509Certificate } from 'node:crypto';
import { ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import type { StateStore } from '../state/store.js';
import { DEFAULT_LINK_PORT, initSite } from './create.js';
import type { SiteDefaults } from './platform.js';
import { CA_SECRET, SERVER_SECRET, SITE_KEY, type SiteRecord } from './records.js';

/**
 * The site a router starts as: its record and both keys, each present, well formed and
 * belonging together, or a refusal in one line naming what is wrong and what to do. A
 * site is created only where the state holds none of it, and only when asked (`create`).
 */
export async function openSite(
  store: StateStore,
  opts: {
    /** The state dir or namespace, for messages. */
    where: string;
    create: SiteDefaults | undefined;
    /** What to do when there is no site and `create` is not given. */
    noSiteHint: string;
    logger: Logger;
  },
): Promise<SiteRecord> {
  const existing = await store.get('site', SITE_KEY);
  if (existing) {
    await requireKey(store, CA_SECRET, existing.caPem, 'the site CA certificate');
    await requireKey(store, SERVER_SECRET, existing.serverCertPem, 'the link server certificate');
    return existing;
  }
  for (const name of [CA_SECRET, SERVER_SECRET]) {
    if (await store.hasSecret(name)) {
      throw new SkiffError(
        ErrorCode.STATE_CORRUPT,
        `${store.locate('site', SITE_KEY)} is missing but the site's key ${store.locate('key', name)} exists; restore the site record from a backup (a new site is never created over existing keys)`,
      );
    }
  }
  const create = opts.create;
  if (create === undefined) {
    throw new SkiffError(
      ErrorCode.NO_SITE,
      `${opts.where} holds no site (no ${store.locate('site', SITE_KEY)}); ${opts.noSiteHint}`,
    );
  }
  const site = await initSite(store, {
    name: create.name,
    ...(create.linkHost === undefined ? {} : { linkHost: create.linkHost }),
    linkPort: create.linkPort ?? DEFAULT_LINK_PORT,
    ...(create.linkBindPort === undefined ? {} : { linkBindPort: create.linkBindPort }),
    linkAccess: true,
  });
  opts.logger.info(
    { site: site.name, id: site.id, where: opts.where },
    'site created with defaults',
  );
  return site;
}

async function requireKey(
  store: StateStore,
  name: string,
  certPem: string,
  what: string,
): Promise<void> {
  const where = store.locate('key', name);
  const pem = await store.getSecret(name);
  if (pem === undefined) {
    throw new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `${where} is missing; restore it from a backup (the site cannot run without it)`,
    );
  }
  if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(pem))) {
    throw new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `${where} is not the key of ${what} in ${store.locate('site', SITE_KEY)}; restore the matching key from a backup`,
    );
  }
}
