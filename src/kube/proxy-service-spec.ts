import type { V1OwnerReference, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { KIND_LABEL, MANAGED_BY } from '../state/kube-store.js';
import { type Owner, ownerReference } from './owners.js';

/** The labels deploy/kubernetes puts on the router pod: what a proxy Service selects. */
export const ROUTER_POD_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'app.kubernetes.io/name': 'skiff',
  'app.kubernetes.io/component': 'router',
});

/** The labels on every proxy Service: managed by skiff, of kind proxy. */
export const PROXY_LABELS: Readonly<Record<string, string>> = Object.freeze({
  [MANAGED_BY]: 'skiff',
  [KIND_LABEL]: 'proxy',
});

/** One port of a proxy Service: apps use `port`, the router listens on `targetPort`. */
export interface ProxyPort {
  port: number;
  targetPort: number;
}

/** Ours: labelled as skiff's proxy and owned by this site's record. Nothing else is touched. */
export function ownedBy(svc: V1Service, owner: Owner): boolean {
  const labels = svc.metadata?.labels ?? {};
  return (
    Object.entries(PROXY_LABELS).every(([k, v]) => labels[k] === v) &&
    (svc.metadata?.ownerReferences ?? []).some((ref) => ref.uid === owner.uid)
  );
}

/** The Service `address` should be: its ports named by number, selecting the router pod. */
export function desiredService(
  address: string,
  ports: readonly ProxyPort[],
  owner: Owner,
): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: address,
      labels: { ...PROXY_LABELS },
      ownerReferences: [ownerReference(owner)],
    },
    spec: {
      type: 'ClusterIP',
      selector: { ...ROUTER_POD_LABELS },
      ports: ports.map(servicePort),
    },
  };
}

/** The router ports a Service of ours already uses, by Service port: kept across restarts. */
export function targetPortsOf(svc: V1Service): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of svc.spec?.ports ?? []) {
    if (typeof p.targetPort === 'number' && (p.protocol ?? 'TCP') === 'TCP') {
      out.set(p.port, p.targetPort);
    }
  }
  return out;
}

/**
 * Our Service with what we decide put back (labels, owner, type, selector, ports), and
 * everything else the server or others keep (clusterIP, annotations, other labels and
 * owners) as it is; undefined when it already matches, so an adopted Service is not
 * written at all.
 */
export function corrected(existing: V1Service, desired: V1Service): V1Service | undefined {
  const meta = existing.metadata ?? {};
  const spec = existing.spec ?? {};
  const want = desired.spec!;
  const labels = { ...(meta.labels ?? {}), ...desired.metadata!.labels };
  const owners = meta.ownerReferences ?? [];
  const ours = desired.metadata!.ownerReferences![0]!;
  const ownerOk = owners.some((ref) => sameOwner(ref, ours));
  const same =
    sameMap(labels, meta.labels ?? {}) &&
    ownerOk &&
    spec.type === want.type &&
    sameMap(spec.selector ?? {}, want.selector!) &&
    samePorts(spec.ports ?? [], want.ports!);
  if (same) return undefined;
  return {
    ...existing,
    metadata: {
      ...meta,
      labels,
      ownerReferences: ownerOk ? owners : [...owners.filter((ref) => ref.uid !== ours.uid), ours],
    },
    spec: { ...spec, type: want.type, selector: want.selector, ports: want.ports },
  };
}

function servicePort({ port, targetPort }: ProxyPort): V1ServicePort {
  return { name: `port-${port}`, port, protocol: 'TCP', targetPort };
}

function sameOwner(a: V1OwnerReference, b: V1OwnerReference): boolean {
  return a.uid === b.uid && a.name === b.name && a.kind === b.kind && a.apiVersion === b.apiVersion;
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function samePorts(have: readonly V1ServicePort[], want: readonly V1ServicePort[]): boolean {
  return (
    have.length === want.length &&
    want.every((w, i) => {
      const h = have[i]!;
      return (
        h.name === w.name &&
        h.port === w.port &&
        (h.protocol ?? 'TCP') === w.protocol &&
        h.targetPort === w.targetPort &&
        h.nodePort === undefined &&
        h.appProtocol === undefined
      );
    })
  );
}
