import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, ErrorCode, SkiffError } from '../errors.js';

export interface KubeOptions {
  /** `-n/--namespace`; else the context's namespace, else `default`. */
  namespace?: string;
  /** `--context`; else the kubeconfig's current context. */
  context?: string;
}

/** A client for one namespace of one cluster. */
export interface KubeConnection {
  /** The loaded kubeconfig (informers take it). */
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  namespace: string;
  /** The API server's URL, for messages. */
  server: string;
}

/**
 * Connects as kubectl would: $KUBECONFIG, else ~/.kube/config, else the pod's service
 * account (a router in its pod). Nothing is sent yet; the first call finds out whether
 * the cluster answers.
 */
export function connectKube(opts: KubeOptions = {}): KubeConnection {
  const kc = new KubeConfig();
  try {
    kc.loadFromDefault();
  } catch (err) {
    throw new SkiffError(
      ErrorCode.PLATFORM_UNAVAILABLE,
      `cannot read the kubeconfig ($KUBECONFIG or ~/.kube/config): ${describe(err)}`,
      { cause: err },
    );
  }
  if (opts.context !== undefined) {
    if (kc.getContextObject(opts.context) === null) {
      const known = kc.getContexts().map((c) => c.name);
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `the kubeconfig has no context "${opts.context}"; it has: ${known.join(', ') || 'none'}`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    throw new SkiffError(
      ErrorCode.PLATFORM_UNAVAILABLE,
      `the kubeconfig's context "${kc.getCurrentContext()}" names no cluster; pick one with --context`,
    );
  }
  const namespace =
    opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return {
    config: kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    namespace,
    server: cluster.server,
  };
}
