/**
 * The shape of every record a store reads or writes, one schema per kind. A store runs
 * each value through `checkRecord` in both directions, so callers get typed values and
 * nothing malformed is ever saved. A problem names the field and says what it should be.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import {
  countProblem,
  hostProblem,
  MAX_LINK_COST,
  MAX_TOKEN_USES,
  nameProblem,
  portProblem,
  quote,
} from '../config/rules.js';
import { readPortRef, readTarget } from '../config/targets.js';
import type {
  ConnectorRecord,
  GrantRecord,
  LinkRecord,
  ListenerRecord,
  SiteRecord,
} from '../site/records.js';
import type { TokenRecord } from '../token/issuer.js';

export interface RecordTypes {
  site: SiteRecord;
  token: TokenRecord;
  link: LinkRecord;
  grant: GrantRecord;
  connector: ConnectorRecord;
  listener: ListenerRecord;
}

type Check = (value: unknown, field: string) => string | undefined;
type Schema = Record<string, { check: Check; optional?: boolean }>;

const MAX_TEXT = 1024;
const MAX_PEM = 64 * 1024;

const text: Check = (v, f) =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT
    ? undefined
    : `${f} must be text of 1 to ${MAX_TEXT} characters`;
const time: Check = (v, f) =>
  typeof v === 'string' && v.length <= 64 && !Number.isNaN(Date.parse(v))
    ? undefined
    : `${f} must be an ISO time`;
const bool: Check = (v, f) => (typeof v === 'boolean' ? undefined : `${f} must be true or false`);
const hex: Check = (v, f) =>
  typeof v === 'string' && /^[0-9a-f:A-F]{1,128}$/.test(v) ? undefined : `${f} must be hex`;
const name: Check = (v, f) => nameProblem(v, f);
const port: Check = (v, f) => portProblem(v, f);
const host: Check = (v, f) => hostProblem(v, f);
const cost: Check = (v, f) => countProblem(v, f, MAX_LINK_COST);
const portRef: Check = (v, f) => readPortRef(v, f).problem;
const usesLeft: Check = (v, f) =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_TOKEN_USES
    ? undefined
    : `${f} must be a whole number from 0 to ${MAX_TOKEN_USES}`;
const cert: Check = (v, f) => {
  if (typeof v !== 'string' || v.length > MAX_PEM) return `${f} must be a PEM certificate`;
  try {
    new X509Certificate(v);
    return undefined;
  } catch {
    return `${f} is not a PEM certificate that parses`;
  }
};
const urls: Check = (v, f) => {
  if (!Array.isArray(v) || v.length === 0 || v.length > 16) return `${f} must list 1 to 16 URLs`;
  for (const u of v) {
    if (
      typeof u !== 'string' ||
      u.length > MAX_TEXT ||
      !URL.canParse(u) ||
      !u.startsWith('wss://')
    ) {
      return `${f} holds ${quote(u)}, not a wss:// URL`;
    }
  }
  return undefined;
};

const schemas: { [K in keyof RecordTypes]: Schema } = {
  site: {
    id: { check: text },
    name: { check: name },
    linkHost: { check: host },
    linkPort: { check: port },
    linkBindPort: { check: port, optional: true },
    linkAccess: { check: bool },
    caPem: { check: cert },
    serverCertPem: { check: cert },
    createdAt: { check: time },
  },
  token: {
    id: { check: hex },
    secretSha256: { check: hex },
    expires: { check: time },
    usesLeft: { check: usesLeft },
    createdAt: { check: time },
    uses: { check: (v, f) => countProblem(v, f, MAX_TOKEN_USES), optional: true },
    revokedAt: { check: time, optional: true },
  },
  link: {
    name: { check: name },
    cost: { check: cost },
    urls: { check: urls },
    peerSiteId: { check: text },
    peerSiteName: { check: text },
    caPem: { check: cert },
    certPem: { check: cert },
    serial: { check: hex },
    createdAt: { check: time },
    revokedAt: { check: time, optional: true },
    revokedReason: { check: text, optional: true },
  },
  grant: {
    serial: { check: hex },
    peerSiteId: { check: text },
    peerSiteName: { check: text },
    linkName: { check: text },
    tokenId: { check: hex },
    issuedAt: { check: time },
  },
  // Which target fields go together, and their values, is readTarget's to say (wholeChecks).
  connector: {
    address: { check: name },
    host: { check: host, optional: true },
    port: { check: port },
    workload: { check: text, optional: true },
    selector: { check: text, optional: true },
    targetPort: { check: portRef, optional: true },
  },
  listener: { address: { check: name }, host: { check: host }, port: { check: port } },
};

/** Every record kind, for code that walks all of them (`site delete`). */
export const RECORD_KINDS = Object.keys(schemas) as Array<keyof RecordTypes>;

/**
 * The value as a record of `kind` named `key`, or the problem with it. Fields beyond the
 * schema are kept: a newer version may have added them.
 */
export function recordProblem<K extends keyof RecordTypes>(
  kind: K,
  key: string,
  value: unknown,
): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `it holds ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}, not a ${kind} record`;
  }
  const rec = value as Record<string, unknown>;
  for (const [field, { check, optional }] of Object.entries(schemas[kind])) {
    if (rec[field] === undefined) {
      if (optional) continue;
      return `its field "${field}" is missing`;
    }
    const problem = check(rec[field], `its field "${field}"`);
    if (problem) return problem;
  }
  const whole = wholeChecks[kind]?.(rec);
  if (whole) return whole;
  const own = keyField[kind];
  if (own && kind !== 'site' && rec[own] !== key) {
    return `its field "${own}" is ${quote(rec[own])}, not the record's name ${quote(key)}`;
  }
  return undefined;
}

/** Checks across a record's fields, after each field passed its own. */
const wholeChecks: {
  [K in keyof RecordTypes]?: (rec: Record<string, unknown>) => string | undefined;
} = {
  connector: (rec) => readTarget(rec as unknown as ConnectorRecord).problem,
};

/** The field a record is stored under (its file or object name). */
const keyField: { [K in keyof RecordTypes]?: string } = {
  token: 'id',
  link: 'name',
  grant: 'serial',
  connector: 'address',
  listener: 'address',
};

/** A private key's PEM, or the problem with it. */
export function keyProblem(pem: string): string | undefined {
  if (pem.trim() === '') return 'it is empty';
  if (pem.length > MAX_PEM) return 'it is too large for a private key';
  try {
    createPrivateKey(pem);
    return undefined;
  } catch {
    return 'it is not a PEM private key that parses';
  }
}
