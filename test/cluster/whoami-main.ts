/**
 * What a pod's own process sees of its service account (image `skiff-test/whoami:1`):
 * reads the files a kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount, asks
 * the API server who it is through an unmodified in-cluster client (client-node's
 * loadFromCluster: those files and $KUBERNETES_SERVICE_HOST/PORT), and tries to list the
 * namespace's Secrets, which RBAC should refuse. Prints one JSON line, then idles until
 * SIGTERM, as a Deployment's container must not exit.
 */
import { readFileSync } from 'node:fs';
import { AuthenticationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

const DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

const token = readFileSync(`${DIR}/token`, 'utf8');
const namespace = readFileSync(`${DIR}/namespace`, 'utf8');
const ca = readFileSync(`${DIR}/ca.crt`, 'utf8');
const config = new KubeConfig();
config.loadFromCluster();
let username: string | undefined;
let error: string | undefined;
try {
  const review = await config.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  username = review.status?.userInfo?.username;
} catch (err) {
  error = String(err);
}
let forbidden: string | undefined;
try {
  await config.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace });
} catch (err) {
  forbidden = String((err as { body?: unknown }).body ?? err);
}
process.stdout.write(
  `${JSON.stringify({
    event: 'whoami',
    uid: process.getuid?.(),
    gid: process.getgid?.(),
    namespace,
    caIsPem: ca.startsWith('-----BEGIN CERTIFICATE-----'),
    claims: claims(token),
    server: config.getCurrentCluster()?.server,
    username,
    error,
    forbidden,
    env: {
      POD_NAME: process.env.POD_NAME,
      POD_NAMESPACE: process.env.POD_NAMESPACE,
      POD_IP: process.env.POD_IP,
    },
  })}\n`,
);
setInterval(() => undefined, 60_000);
process.on('SIGTERM', () => process.exit(0));
