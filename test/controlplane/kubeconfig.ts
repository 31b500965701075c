import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { CertKey } from '../../src/pki/index.js';

/** Who a kubeconfig authenticates as: a client certificate or a bearer token. */
export type Credential = { cert: CertKey } | { token: string };

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * A self-contained kubeconfig (CA, certificate and key inline) with one cluster, user and
 * context, all called `name`, as `kubectl config view --raw` would write it.
 */
export function kubeconfigYaml(opts: {
  name: string;
  server: string;
  caPem: string;
  credential: Credential;
  namespace?: string;
}): string {
  const { name, server, caPem, credential, namespace } = opts;
  const user =
    'cert' in credential
      ? {
          'client-certificate-data': base64(credential.cert.certPem),
          'client-key-data': base64(credential.cert.keyPem),
        }
      : { token: credential.token };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': base64(caPem) } }],
    users: [{ name, user }],
    contexts: [
      { name, context: { cluster: name, user: name, ...(namespace ? { namespace } : {}) } },
    ],
    'current-context': name,
  });
}

/** Writes the kubeconfig readable by its owner only (it holds a key or a token). */
export async function writeKubeconfig(
  path: string,
  opts: Parameters<typeof kubeconfigYaml>[0],
): Promise<string> {
  await writeFile(path, kubeconfigYaml(opts), { mode: 0o600 });
  return path;
}
