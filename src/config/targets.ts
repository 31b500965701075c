/**
 * Where a connector's streams go (decision 0022), parsed in this one place for the CLI's
 * flags, the connector record's schema (state/schema.ts) and the platforms' resolvers: a
 * `host:port`, or on kubernetes a workload (`deployment/NAME`, `statefulset/NAME`,
 * `service/NAME`) or a label selector whose ready pods take the streams.
 */
import { ErrorCode, SkiffError } from '../errors.js';
import {
  hostProblem,
  labelKeyProblem,
  labelValueProblem,
  MAX_SELECTOR_TERMS,
  MAX_SELECTOR_TEXT,
  MAX_SUBDOMAIN,
  portNameProblem,
  portProblem,
  quote,
  serviceNameProblem,
  subdomainProblem,
} from './rules.js';

/** A port by number, or by the name a container or a Service gives it. */
export type PortRef = number | string;

export type WorkloadKind = 'deployment' | 'statefulset' | 'service';

/**
 * The fields of a connector record that say where its streams go, as stored (the record
 * format: fields are only ever added). Exactly one of host, workload and selector is set.
 */
export interface TargetFields {
  /** A host name or address dialled at `port` (on kubernetes a Service's DNS name works). */
  host?: string;
  /**
   * The port apps use: the one dialled for a host target; for a workload or selector the
   * port of the proxy Services (decision 0008), and the pods' port unless targetPort says.
   */
  port: number;
  /** `deployment/NAME`, `statefulset/NAME` or `service/NAME`, in this namespace. */
  workload?: string;
  /** `KEY=VALUE,...`: the pods in this namespace that carry all these labels. */
  selector?: string;
  /**
   * The port dialled on the chosen pod, for a workload or selector (default `port`): a
   * number or a container port's name; for service/ a port (number or name) of the Service,
   * mapped to the pods' port by its EndpointSlices.
   */
  targetPort?: PortRef;
}

export interface HostTarget {
  kind: 'host';
  host: string;
  port: number;
}

export interface WorkloadTarget {
  kind: WorkloadKind;
  name: string;
  port: number;
  targetPort: PortRef;
}

/** Equality terms only, sorted by key: `text` is what the API server's labelSelector takes. */
export interface Selector {
  terms: ReadonlyArray<readonly [key: string, value: string]>;
  text: string;
}

export interface SelectorTarget {
  kind: 'selector';
  selector: Selector;
  port: number;
  targetPort: PortRef;
}

export type Target = HostTarget | WorkloadTarget | SelectorTarget;
/** A target whose streams go to pods: everything but host:port. */
export type PodTarget = WorkloadTarget | SelectorTarget;

/** How a workload kind may be written (as kubectl takes them), and what it means. */
const KIND_WORDS: Readonly<Record<string, WorkloadKind>> = {
  deployment: 'deployment',
  deployments: 'deployment',
  deploy: 'deployment',
  statefulset: 'statefulset',
  statefulsets: 'statefulset',
  sts: 'statefulset',
  service: 'service',
  services: 'service',
  svc: 'service',
};

/** Longer than any kind word, '/' and the longest object name: never a workload. */
const MAX_WORKLOAD_TEXT = 16 + MAX_SUBDOMAIN;

type Parsed<T> = { value: T; problem?: undefined } | { value?: undefined; problem: string };

function unwrap<T>(parsed: Parsed<T>): T {
  if (parsed.problem !== undefined)
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, parsed.problem);
  return parsed.value;
}

/** `deployment/api` (or `deploy/api`, `sts/db`, `svc/api`, ...): the kind and name, canonical. */
export function readWorkload(
  text: unknown,
  what: string,
): Parsed<{ kind: WorkloadKind; name: string }> {
  const shape = `${what} ${quote(text)} is not a workload: write deployment/NAME, statefulset/NAME or service/NAME`;
  if (typeof text !== 'string' || text.length > MAX_WORKLOAD_TEXT) return { problem: shape };
  const slash = text.indexOf('/');
  const kind = slash < 0 ? undefined : KIND_WORDS[text.slice(0, slash).toLowerCase()];
  if (kind === undefined) return { problem: shape };
  const name = text.slice(slash + 1);
  const problem =
    kind === 'service'
      ? serviceNameProblem(name, `${what}'s name`)
      : subdomainProblem(name, `${what}'s name`);
  return problem === undefined ? { value: { kind, name } } : { problem };
}

/**
 * `KEY=VALUE,KEY2=VALUE2` (`==` also means equals): at least one term, each key once.
 * Set-based terms (`in`, `notin`, `!=`, a bare key) are refused: a target's pods are
 * named by what they carry, not by what they lack.
 */
export function readSelector(text: unknown, what: string): Parsed<Selector> {
  if (typeof text !== 'string' || text.length > MAX_SELECTOR_TEXT) {
    return {
      problem: `${what} must be KEY=VALUE terms separated by ',', at most ${MAX_SELECTOR_TEXT} characters`,
    };
  }
  const parts = text.split(',');
  if (text.trim() === '') {
    return {
      problem: `${what} is empty: it would take every pod in the namespace; give KEY=VALUE,...`,
    };
  }
  if (parts.length > MAX_SELECTOR_TERMS) {
    return {
      problem: `${what} has ${parts.length} terms; skiff takes at most ${MAX_SELECTOR_TERMS}`,
    };
  }
  const terms = new Map<string, string>();
  for (const part of parts) {
    const m = /^\s*([^=!\s]+)\s*==?\s*([^=!\s]*)\s*$/.exec(part);
    if (!m) {
      return {
        problem: `${what} term ${quote(part.trim())} is not KEY=VALUE: skiff selects pods by labels they carry (no !=, in, notin or bare keys)`,
      };
    }
    const [, key, value] = m as unknown as [string, string, string];
    const problem =
      labelKeyProblem(key, `${what} key`) ?? labelValueProblem(value, `${what} value of ${key}`);
    if (problem !== undefined) return { problem };
    if (terms.has(key)) return { problem: `${what} gives ${quote(key)} twice` };
    terms.set(key, value);
  }
  const sorted = [...terms].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { value: { terms: sorted, text: sorted.map(([k, v]) => `${k}=${v}`).join(',') } };
}

/** A target port as a record holds it: a port number or a port name. */
export function readPortRef(value: unknown, what: string): Parsed<PortRef> {
  if (typeof value === 'number') {
    const problem = portProblem(value, what);
    return problem === undefined ? { value } : { problem };
  }
  const problem = portNameProblem(value, what);
  return problem === undefined ? { value: value as string } : { problem };
}

/** The CLI's `--target-port`: digits are a port number, anything else a port name. */
export function parseTargetPort(text: string, flag: string): PortRef {
  return unwrap(readPortRef(/^\d{1,5}$/.test(text) ? Number(text) : text, flag));
}

/** The CLI's `deployment/NAME` (and statefulset/, service/) argument. */
export function parseWorkload(text: string, what: string): { kind: WorkloadKind; name: string } {
  return unwrap(readWorkload(text, what));
}

/** The CLI's `--selector`. */
export function parseSelector(text: string, flag: string): Selector {
  return unwrap(readSelector(text, flag));
}

/** The record's target fields as a typed target, or what is wrong with them. */
export function readTarget(fields: TargetFields): Parsed<Target> {
  const given = (['host', 'workload', 'selector'] as const).filter((f) => fields[f] !== undefined);
  if (given.length !== 1) {
    return {
      problem:
        given.length === 0
          ? 'it names no target: give host (with port), workload or selector'
          : `it gives ${given.join(' and ')}: give only one target`,
    };
  }
  const portProblemText = portProblem(fields.port, 'its port');
  if (portProblemText !== undefined) return { problem: portProblemText };
  const { port } = fields;
  if (fields.host !== undefined) {
    if (fields.targetPort !== undefined) {
      return {
        problem: 'its targetPort goes with a workload or selector; a host target dials its port',
      };
    }
    const problem = hostProblem(fields.host, 'its host');
    return problem === undefined
      ? { value: { kind: 'host', host: fields.host, port } }
      : { problem };
  }
  const targetPort =
    fields.targetPort === undefined
      ? { value: port }
      : readPortRef(fields.targetPort, 'its targetPort');
  if (targetPort.problem !== undefined) return targetPort;
  if (fields.workload !== undefined) {
    const workload = readWorkload(fields.workload, 'its workload');
    if (workload.problem !== undefined) return workload;
    return { value: { ...workload.value, port, targetPort: targetPort.value } };
  }
  const selector = readSelector(fields.selector, 'its selector');
  if (selector.problem !== undefined) return selector;
  return {
    value: { kind: 'selector', selector: selector.value, port, targetPort: targetPort.value },
  };
}

/** The typed target of a record that passed its schema (which runs readTarget). */
export function targetOf(fields: TargetFields): Target {
  return unwrap(readTarget(fields));
}

/** The record fields of a typed target: the canonical spelling a store keeps. */
export function targetFields(target: Target): TargetFields {
  switch (target.kind) {
    case 'host':
      return { host: target.host, port: target.port };
    case 'selector':
      return { selector: target.selector.text, port: target.port, ...portField(target) };
    default:
      return { workload: `${target.kind}/${target.name}`, port: target.port, ...portField(target) };
  }
}

function portField(target: PodTarget): { targetPort?: PortRef } {
  return target.targetPort === target.port ? {} : { targetPort: target.targetPort };
}

/** What a target's pods are, for messages and as the key its watch is shared under: `deployment/api`, `selector app=api`. */
export function podSourceText(target: PodTarget): string {
  return target.kind === 'selector'
    ? `selector ${target.selector.text}`
    : `${target.kind}/${target.name}`;
}

/** A target as people read it: `db.local:5432`, `[::1]:80`, `deployment/api:8080`, `service/api:http`. */
export function targetText(target: Target): string {
  if (target.kind === 'host') {
    return target.host.includes(':')
      ? `[${target.host}]:${target.port}`
      : `${target.host}:${target.port}`;
  }
  return `${podSourceText(target)}:${target.targetPort}`;
}

/** The target text of record fields, whatever they hold (a message never throws). */
export function fieldsText(fields: TargetFields): string {
  const parsed = readTarget(fields);
  return parsed.problem === undefined ? targetText(parsed.value) : 'an invalid target';
}

/** Whether two records send streams to the same place. */
export function sameTarget(a: TargetFields, b: TargetFields): boolean {
  return (
    a.host === b.host &&
    a.port === b.port &&
    a.workload === b.workload &&
    a.selector === b.selector &&
    a.targetPort === b.targetPort
  );
}
