import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { newCert, publicOf, signAsCa } from '../../src/pki/forge-util.js';
import { type CertKey, createCa, createServerCert, generateKey } from '../../src/pki/index.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** What the control plane's TLS and tokens rest on, all made fresh per control plane. */
export interface ControlPlanePki {
  /** The cluster CA: signs the API server's serving certificate and every client certificate. */
  ca: CertKey;
  /** The API server's serving certificate. */
  apiserver: CertKey;
  /** Signs service-account tokens (the API server's --service-account-signing-key-file). */
  serviceAccountKeyPem: string;
  /** Verifies them (--service-account-key-file). */
  serviceAccountPublicPem: string;
}

/** The names a client inside the cluster uses for the API server, as a real cluster's certificate lists them. */
const IN_CLUSTER_NAMES = [
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

/**
 * A CA, the API server's serving certificate for `hosts` (its bind address and the
 * `kubernetes` Service's ClusterIP; localhost and loopback are always included), and a
 * service-account key pair.
 */
export async function createControlPlanePki(hosts: readonly string[]): Promise<ControlPlanePki> {
  const ca = await createCa('skiff-test-kubernetes-ca');
  const [apiserver, serviceAccount] = await Promise.all([
    createServerCert(ca, { commonName: 'kube-apiserver', hosts: [...hosts, ...IN_CLUSTER_NAMES] }),
    generateKeyPairAsync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    }),
  ]);
  return {
    ca,
    apiserver,
    serviceAccountKeyPem: serviceAccount.privateKey,
    serviceAccountPublicPem: serviceAccount.publicKey,
  };
}

const CLIENT_DAYS = 7;

/**
 * A client certificate as Kubernetes reads one: the common name is the user name, each
 * organization a group (`system:masters` bypasses RBAC; a user in no group has only what
 * RoleBindings give it).
 */
export async function createClientCert(
  ca: CertKey,
  user: string,
  groups: readonly string[] = [],
): Promise<CertKey> {
  const keyPem = await generateKey();
  const key = forge.pki.privateKeyFromPem(keyPem);
  const cert = newCert(publicOf(key), CLIENT_DAYS);
  cert.setSubject([
    { name: 'commonName', value: user },
    ...groups.map((group) => ({ name: 'organizationName', value: group })),
  ]);
  const certPem = signAsCa(
    cert,
    [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
    forge.pki.certificateFromPem(ca.certPem),
    forge.pki.privateKeyFromPem(ca.keyPem),
  );
  return { certPem, keyPem };
}
