import type { TargetFields } from '../config/targets.js';
import { normalizeSerial } from '../pki/serial.js';

/**
 * What a site stores (state/store.ts). These shapes are the on-disk format of the local
 * platform (one JSON file each), so fields are only ever added, never renamed.
 */

export interface SiteRecord {
  id: string;
  name: string;
  /** Host name or address other sites dial; also where the link server binds if an IP. */
  linkHost: string;
  linkPort: number;
  /** Where the link server binds when it differs from the advertised linkPort (a port-forward or proxy in between). */
  linkBindPort?: number;
  linkAccess: boolean;
  caPem: string;
  serverCertPem: string;
  createdAt: string;
}

/** An outgoing link: made by redeeming a token. Its key is the secret `link-<name>`. */
export interface LinkRecord {
  name: string;
  cost: number;
  urls: string[];
  peerSiteId: string;
  peerSiteName: string;
  /** The issuer's CA, pinned. */
  caPem: string;
  /** This site's client certificate for the link, signed by the issuer's CA. */
  certPem: string;
  serial: string;
  createdAt: string;
  /** Set when the issuer revoked the credential: the link is kept for status, never redialled. */
  revokedAt?: string;
  revokedReason?: string;
}

/** A credential this site issued when one of its tokens was redeemed: an incoming link. */
export type { GrantRecord } from '../token/issuer.js';

/**
 * An address served at this site. Its target (host and port, or a workload or selector
 * with port and targetPort) is read through config/targets.ts, the one parser of targets.
 */
export interface ConnectorRecord extends TargetFields {
  address: string;
}

export interface ListenerRecord {
  address: string;
  host: string;
  port: number;
}

/** `host:port` as people write it, IPv6 hosts in brackets, for messages. */
export function hostPort({ host, port }: { host: string; port: number }): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export const SITE_KEY = 'site';
export const CA_SECRET = 'ca';
export const SERVER_SECRET = 'server';
export const linkSecret = (name: string): string => `link-${name}`;

/** A link's id: the same at both ends, since both know the credential's serial. */
export function linkId(serial: string): string {
  return normalizeSerial(serial).slice(0, 12);
}

export { normalizeSerial };
