import {
  DiscoveryV1Api,
  type V1EndpointSlice,
  type V1Service,
  type V1ServicePort,
} from '@kubernetes/client-node';
import type { PodTarget, PortRef } from '../config/targets.js';
import { ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import type { KubeConnection } from './connect.js';
import type { Endpoint } from './stream-balance.js';
import type { Readiness, TargetSource } from './target-source.js';
import { Watched } from './watched.js';

/** The label the EndpointSlice controller puts on a Service's slices. */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Slices of one Service: 100 endpoints each by default, so far beyond any one Service. */
const MAX_SLICES = 100;

/**
 * The ready endpoints of a Service (`service/NAME`): the Service is watched by name (for
 * its ports) and its EndpointSlices by their service-name label. A target port names a
 * port of the Service, by number or name; the slices say which port that is on each
 * endpoint, as kube-proxy learns it. An endpoint is ready unless its slice says it is not
 * (a nil `ready` is ready, as the API defines it); terminating endpoints are not ready.
 */
export class ServiceEndpoints implements TargetSource {
  private readonly service: Watched<V1Service>;
  private readonly slices: Watched<V1EndpointSlice>;

  constructor(
    private readonly kube: KubeConnection,
    private readonly name: string,
    logger: Logger,
  ) {
    const { core, namespace } = kube;
    const discovery = kube.config.makeApiClient(DiscoveryV1Api);
    const fieldSelector = `metadata.name=${name}`;
    const labelSelector = `${SERVICE_NAME_LABEL}=${name}`;
    this.service = new Watched<V1Service>(
      kube,
      {
        what: `services "${name}"`,
        resource: 'services',
        path: `/api/v1/namespaces/${namespace}/services`,
        list: () => core.listNamespacedService({ namespace, fieldSelector }),
        fieldSelector,
        maxItems: 1,
      },
      logger,
    );
    this.slices = new Watched<V1EndpointSlice>(
      kube,
      {
        what: `endpointslices of service ${name}`,
        resource: 'endpointslices.discovery.k8s.io',
        path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
        list: () => discovery.listNamespacedEndpointSlice({ namespace, labelSelector }),
        labelSelector,
        maxItems: MAX_SLICES,
      },
      logger,
    );
  }

  private get label(): string {
    return `service/${this.name}`;
  }

  start(): void {
    this.service.start();
    this.slices.start();
  }

  async whenSynced(): Promise<void> {
    await Promise.all([this.service.whenSynced(), this.slices.whenSynced()]);
  }

  stop(): void {
    this.service.stop();
    this.slices.stop();
  }

  endpoints(target: PodTarget): Endpoint[] {
    const { ready, total } = this.resolve(target.targetPort);
    if (ready.length > 0) return ready;
    throw new SkiffError(
      ErrorCode.TARGET_UNAVAILABLE,
      `${this.label} has no ready endpoint (0 of ${total} ready)`,
    );
  }

  readiness(): Readiness | { error: string } {
    try {
      const { ready, total } = this.resolve(undefined);
      return { ready: ready.length, total };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  /** The endpoints of the Service's port `ref` (undefined: its first port), ready and all. */
  private resolve(ref: PortRef | undefined): { ready: Endpoint[]; total: number } {
    const [service] = this.service.items();
    const slices = this.slices.items();
    if (service === undefined) {
      throw new SkiffError(
        ErrorCode.NOT_FOUND,
        `there is no ${this.label} in namespace ${this.kube.namespace}`,
      );
    }
    if (service.spec?.type === 'ExternalName') {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `${this.label} is an ExternalName Service (for ${service.spec.externalName}), which has no endpoints: expose its name as a host:port target instead`,
      );
    }
    const port = this.servicePort(service, ref);
    const portName = port.name ?? '';
    const ready = new Map<string, Endpoint>();
    const all = new Set<string>();
    for (const slice of slices) {
      if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
      const number = slice.ports?.find(
        (p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === 'TCP',
      )?.port;
      if (number === undefined) continue;
      for (const endpoint of slice.endpoints ?? []) {
        const ip = endpoint.addresses?.[0];
        if (ip === undefined) continue;
        const key = `${ip}:${number}`;
        all.add(key);
        if (endpoint.conditions?.ready === false) continue;
        ready.set(key, { name: endpoint.targetRef?.name ?? ip, ip, port: number });
      }
    }
    return { ready: [...ready.values()], total: all.size };
  }

  /** The Service's TCP port `ref` names (a number or a name); its first when undefined. */
  private servicePort(service: V1Service, ref: PortRef | undefined): V1ServicePort {
    const ports = (service.spec?.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP');
    const port =
      ref === undefined
        ? ports[0]
        : ports.find((p) => (typeof ref === 'number' ? p.port === ref : p.name === ref));
    if (port !== undefined) return port;
    const known = ports.map((p) => (p.name ? `${p.port} (${p.name})` : String(p.port)));
    throw new SkiffError(
      ErrorCode.NOT_FOUND,
      `${this.label} has no TCP port ${typeof ref === 'number' ? ref : `named "${ref}"`}; its ports: ${known.join(', ') || 'none'}`,
    );
  }
}
