import { stringify } from 'yaml';

/**
 * Records as a person writes them for `kubectl apply` (GitOps): a ConfigMap named
 * `skiff-KIND-NAME`, labelled for skiff, the record as YAML under `KIND.yaml`.
 */
export function recordManifest(
  kind: 'connector' | 'listener',
  name: string,
  record: Record<string, unknown> | string,
  objectName = `skiff-${kind}-${name}`,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: objectName,
      labels: { 'app.kubernetes.io/managed-by': 'skiff', 'skiff.dev/kind': kind },
    },
    data: { [`${kind}.yaml`]: typeof record === 'string' ? record : stringify(record) },
  };
}

/** Several manifests as one YAML stream, as a file in a Git repository holds them. */
export function manifests(...objects: Record<string, unknown>[]): string {
  return objects.map((o) => `---\n${stringify(o)}`).join('');
}
