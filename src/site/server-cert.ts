import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { ErrorCode, SkiffError } from '../errors.js';
import { createServerCert } from '../pki/index.js';
import type { StateStore } from '../state/store.js';
import { SITE_KEY, type SiteRecord } from './records.js';

/** Names a server certificate may grow to: each is an address some token advertised. */
const MAX_HOSTS = 32;

/** The hosts of `urls` the certificate does not name (a redeemer checks the host it dials). */
export function uncoveredHosts(certPem: string, urls: readonly string[]): string[] {
  const cert = new X509Certificate(certPem);
  const hosts = new Set(urls.map((u) => new URL(u).hostname.replace(/^\[(.*)\]$/, '$1')));
  return [...hosts].filter((h) =>
    isIP(h) ? cert.checkIP(h) === undefined : cert.checkHost(h) === undefined,
  );
}

/**
 * The site's link server certificate reissued to name `hosts` as well, for the same key
 * (so a crash between writes cannot part key and certificate: only the site record
 * changes). Saved before it is returned; the caller serves it.
 */
export async function reissueServerCert(opts: {
  store: StateStore;
  site: SiteRecord;
  caKeyPem: string;
  serverKeyPem: string;
  hosts: readonly string[];
}): Promise<SiteRecord> {
  const { store, site } = opts;
  const named = namedHosts(site.serverCertPem);
  const hosts = [...new Set([site.linkHost, ...named, ...opts.hosts])];
  if (hosts.length > MAX_HOSTS) {
    throw new SkiffError(
      ErrorCode.LIMIT,
      `the link server certificate would name ${hosts.length} hosts, more than ${MAX_HOSTS}; advertise one of those it names (${named.join(', ')}) with --link-host`,
    );
  }
  const server = await createServerCert(
    { certPem: site.caPem, keyPem: opts.caKeyPem },
    { commonName: site.name, hosts, keyPem: opts.serverKeyPem },
  );
  const updated: SiteRecord = { ...site, serverCertPem: server.certPem };
  await store.put('site', SITE_KEY, updated);
  return updated;
}

/** The DNS names and IP addresses a certificate's subjectAltName lists. */
function namedHosts(certPem: string): string[] {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return san
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((h): h is string => h !== undefined);
}
