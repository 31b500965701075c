import type { V1Service } from '@kubernetes/client-node';
import { ErrorCode, SkiffError } from '../errors.js';
import { linkUrlOf } from '../site/create.js';
import type { KubeConnection } from './connect.js';
import { apiFailure, notFound } from './errors.js';

/** The link Service deploy/kubernetes makes, and its port's name there. */
export const LINK_SERVICE = 'skiff';
const LINK_PORT_NAME = 'link';
export const DEFAULT_LINK_PORT = 8443;

export interface AdvertisedAddress {
  /** What the token advertises; undefined: the site's own link URL (no link Service). */
  urls?: string[];
  /** Said on stderr: where the address came from when it may not be what the user wants. */
  note?: string;
}

/**
 * Where other sites can reach this one's link port, for `token create` (decision 0024):
 * `--link-host`/`--link-port` when given; else the link Service's LoadBalancer ingress;
 * else, for a NodePort (or a LoadBalancer not given an address yet), the router pod's node
 * address and the node port; else the Service's cluster DNS name, with a note that only
 * this cluster reaches it. No link Service (a router run outside deploy/): the site's own
 * link URL.
 */
export async function advertisedAddress(
  kube: KubeConnection,
  flags: { linkHost?: string; linkPort?: number },
): Promise<AdvertisedAddress> {
  const { core, namespace } = kube;
  if (flags.linkHost !== undefined) {
    return { urls: [linkUrlOf(flags.linkHost, flags.linkPort ?? DEFAULT_LINK_PORT)] };
  }
  let service: V1Service;
  try {
    service = await core.readNamespacedService({ name: LINK_SERVICE, namespace });
  } catch (err) {
    if (notFound(err)) return {};
    throw apiFailure(err, 'get', `services "${LINK_SERVICE}"`, namespace);
  }
  const ports = service.spec?.ports ?? [];
  const port = ports.find((p) => p.name === LINK_PORT_NAME) ?? ports[0];
  if (port === undefined) {
    throw new SkiffError(
      ErrorCode.PLATFORM_UNAVAILABLE,
      `the link Service ${LINK_SERVICE} in namespace ${namespace} has no port; reapply deploy/kubernetes, or pass --link-host`,
    );
  }
  const pick = flags.linkPort;
  const ingress = service.status?.loadBalancer?.ingress?.find((i) => i.ip ?? i.hostname);
  if (service.spec?.type === 'LoadBalancer' && ingress !== undefined) {
    return { urls: [linkUrlOf((ingress.ip ?? ingress.hostname)!, pick ?? port.port)] };
  }
  if (port.nodePort !== undefined) {
    const node = await routerNodeAddress(kube, service);
    return {
      urls: [linkUrlOf(node, pick ?? port.nodePort)],
      note: `the token advertises node address ${node} port ${port.nodePort} (Service ${LINK_SERVICE} is a ${service.spec?.type}${service.spec?.type === 'LoadBalancer' ? ' without an address yet' : ''}); pass --link-host if other sites reach it another way`,
    };
  }
  const host = `${LINK_SERVICE}.${namespace}.svc`;
  return {
    urls: [linkUrlOf(host, pick ?? port.port)],
    note: `the token advertises ${host}, which only this cluster reaches: for another cluster make Service ${LINK_SERVICE} a LoadBalancer or NodePort (deploy/kubernetes/variants) or pass --link-host`,
  };
}

/** The node address of a ready router pod (the link Service's selector picks them). */
async function routerNodeAddress(kube: KubeConnection, service: V1Service): Promise<string> {
  const { core, namespace } = kube;
  const selector = Object.entries(service.spec?.selector ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  let hostIPs: string[] = [];
  if (selector !== '') {
    try {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
      hostIPs = pods.items.flatMap((p) => (p.status?.hostIP ? [p.status.hostIP] : []));
    } catch (err) {
      throw apiFailure(err, 'list', 'pods', namespace);
    }
  }
  const node = hostIPs[0];
  if (node === undefined) {
    throw new SkiffError(
      ErrorCode.PLATFORM_UNAVAILABLE,
      `Service ${LINK_SERVICE} in namespace ${namespace} is reached on a node port, but no router pod runs on a node yet; wait for it (kubectl get pods -n ${namespace}), or pass --link-host`,
    );
  }
  return node;
}
