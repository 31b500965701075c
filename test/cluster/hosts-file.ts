import type { ServiceView } from './services.js';

/** The cluster's DNS domain, as a kubeadm cluster names it. */
export const CLUSTER_DOMAIN = 'cluster.local';

/** The pod an /etc/hosts is for: its names resolve as the pod's search path would resolve them. */
export interface PodIdentity {
  namespace: string;
  hostname: string;
  ip: string;
}

/**
 * What cluster DNS would answer a pod, written as the /etc/hosts that `ip netns exec` mounts
 * into its namespace: every Service's ClusterIP under `name.namespace`,
 * `name.namespace.svc` and `name.namespace.svc.cluster.local`, and under its plain name in
 * the pod's own namespace (the first entry of a pod's DNS search path); and the pod's own
 * hostname, as a kubelet writes it.
 */
export function hostsFile(pod: PodIdentity, views: readonly ServiceView[]): string {
  const lines = [
    '# written by the skiff test cluster: cluster DNS for this pod',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${pod.ip}\t${pod.hostname}`,
  ];
  for (const view of views) {
    const qualified = `${view.name}.${view.namespace}`;
    const names = [
      ...(view.namespace === pod.namespace ? [view.name] : []),
      qualified,
      `${qualified}.svc`,
      `${qualified}.svc.${CLUSTER_DOMAIN}`,
    ];
    lines.push(`${view.clusterIP}\t${names.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
