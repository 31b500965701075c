/**
 * Objects the cluster tests apply: workloads of echo-main.js (image `skiff-test/echo:1`,
 * echo on port 8080 named `echo`, health on 8081 named `health`) and Services for them.
 */
import type {
  V1Deployment,
  V1EnvVar,
  V1PodTemplateSpec,
  V1Probe,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';

export const envFromPod: V1EnvVar[] = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
];

/** Where an echo pod's readiness flag goes: while the file exists, /ready answers 503. */
export const UNREADY_FLAG = '/run/flags/unready';

const fast = (probe: V1Probe): V1Probe => ({ periodSeconds: 1, failureThreshold: 1, ...probe });

export interface EchoOptions {
  /** Labels beyond `app: NAME` (which the workload selects on). */
  labels?: Record<string, string>;
  /** The readiness probe's path on the health port (default /ready). */
  readyPath?: string;
  liveness?: boolean;
  env?: V1EnvVar[];
}

/** The pod template of echo-main.js, with an emptyDir at /run/flags (where its unready flag goes). */
function echoTemplate(name: string, opts: EchoOptions): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: name, ...opts.labels } },
    spec: {
      terminationGracePeriodSeconds: 5,
      volumes: [{ name: 'flags', emptyDir: {} }],
      containers: [
        {
          name: 'echo',
          image: 'skiff-test/echo:1',
          ports: [
            { name: 'echo', containerPort: 8080 },
            { name: 'health', containerPort: 8081 },
          ],
          env: [...envFromPod, { name: 'UNREADY_FILE', value: UNREADY_FLAG }, ...(opts.env ?? [])],
          volumeMounts: [{ name: 'flags', mountPath: '/run/flags' }],
          readinessProbe: fast({
            httpGet: { path: opts.readyPath ?? '/ready', port: 'health' },
          }),
          ...(opts.liveness
            ? {
                // The process needs a moment to listen: a kubelet probes liveness at once.
                livenessProbe: {
                  httpGet: { path: '/healthz', port: 8081 },
                  initialDelaySeconds: 1,
                  periodSeconds: 1,
                  failureThreshold: 2,
                },
              }
            : {}),
        },
      ],
    },
  };
}

/** A Deployment of echo-main.js selecting `app: NAME`. */
export function echoDeployment(
  namespace: string,
  name: string,
  replicas: number,
  opts: EchoOptions = {},
): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: echoTemplate(name, opts),
    },
  };
}

/** A StatefulSet of echo-main.js selecting `app: NAME`, its pods started in parallel. */
export function echoStatefulSet(
  namespace: string,
  name: string,
  replicas: number,
  opts: EchoOptions = {},
): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace },
    spec: {
      replicas,
      serviceName: name,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: name } },
      template: echoTemplate(name, opts),
    },
  };
}

/** A Service whose port `echo` (`port`) goes to the pods' port named `echo`. */
export function service(
  namespace: string,
  name: string,
  port: number,
  selector: Record<string, string>,
): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector, ports: [{ name: 'echo', port, targetPort: 'echo' }] },
  };
}
