import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

/** Where one Service port's connections may go: an endpoint's address and target port. */
export interface Backend {
  ip: string;
  port: number;
}

export type Protocol = 'TCP' | 'UDP';

export interface ServicePortView {
  protocol: Protocol;
  /** The Service's port (on its ClusterIP). */
  port: number;
  /** Sorted; empty when no endpoint may take a connection (kube-proxy then rejects). */
  backends: Backend[];
}

/** What kube-proxy and DNS make of one Service with a ClusterIP. */
export interface ServiceView {
  namespace: string;
  name: string;
  clusterIP: string;
  ports: ServicePortView[];
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

/**
 * The Services that have a ClusterIP (headless and ExternalName ones get no rules), each
 * port with the endpoints its EndpointSlices (written by the real endpointslice controller,
 * or the API server for `kubernetes`) name for it. As kube-proxy does: ready endpoints; if
 * none is ready, the serving ones that are terminating. IPv4 slices only; SCTP is skipped.
 */
export function serviceViews(
  services: readonly V1Service[],
  slices: readonly V1EndpointSlice[],
): ServiceView[] {
  const byService = new Map<string, V1EndpointSlice[]>();
  for (const slice of slices) {
    const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (service === undefined || slice.addressType !== 'IPv4') continue;
    const k = key(slice.metadata?.namespace, service);
    byService.set(k, [...(byService.get(k) ?? []), slice]);
  }
  const views: ServiceView[] = [];
  for (const service of services) {
    const clusterIP = service.spec?.clusterIP;
    if (!clusterIP || clusterIP === 'None' || service.spec?.type === 'ExternalName') continue;
    const { namespace = '', name = '' } = service.metadata ?? {};
    const mySlices = byService.get(key(namespace, name)) ?? [];
    const ports: ServicePortView[] = [];
    for (const port of service.spec?.ports ?? []) {
      const protocol = port.protocol ?? 'TCP';
      if (protocol !== 'TCP' && protocol !== 'UDP') continue;
      ports.push({
        protocol,
        port: port.port,
        backends: backendsFor(mySlices, port.name ?? '', protocol),
      });
    }
    views.push({ namespace, name, clusterIP, ports });
  }
  return views.sort((a, b) => key(a.namespace, a.name).localeCompare(key(b.namespace, b.name)));
}

function backendsFor(
  slices: readonly V1EndpointSlice[],
  portName: string,
  protocol: Protocol,
): Backend[] {
  const ready = new Map<string, Backend>();
  const terminating = new Map<string, Backend>();
  for (const slice of slices) {
    const port = slice.ports?.find(
      (p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol,
    )?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints) {
      // The API: an unset condition means ready (unknown counts as ready).
      const {
        ready: isReady = true,
        serving = isReady,
        terminating: ending = false,
      } = endpoint.conditions ?? {};
      for (const ip of endpoint.addresses) {
        const backend = { ip, port };
        if (isReady) ready.set(`${ip}:${port}`, backend);
        else if (serving && ending) terminating.set(`${ip}:${port}`, backend);
      }
    }
  }
  const chosen = ready.size > 0 ? ready : terminating;
  return [...chosen.values()].sort(
    (a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }) || a.port - b.port,
  );
}
