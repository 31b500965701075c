/**
 * deploy/kubernetes read as files: the names skiff's messages use, the image tag, the
 * Role as deploy/README.md documents it, and the Deployment's security and lifecycle
 * settings. What the API server makes of them is test/kube/deploy.test.ts's part.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { defaultSettings } from '../../../src/config/settings.js';
import { ROLE_MANIFEST, ROUTER_ROLE, ROUTER_SERVICE_ACCOUNT } from '../../../src/kube/errors.js';
import { DEFAULT_LINK_PORT } from '../../../src/site/create.js';
import { repoRoot } from '../../helpers/cli.js';
import {
  BASE_DIR,
  documentedRules,
  INSTALLS,
  type KubeObject,
  readManifest,
  routerRole,
} from '../../helpers/install.js';

interface Container {
  name: string;
  image: string;
  command: string[];
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string }[];
}

interface Deployment extends KubeObject {
  spec: {
    replicas: number;
    strategy: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        serviceAccountName: string;
        automountServiceAccountToken: boolean;
        terminationGracePeriodSeconds: number;
        securityContext: Record<string, unknown>;
        containers: Container[];
        volumes: { name: string; emptyDir?: object }[];
      };
    };
  };
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? yamlFiles(join(dir, entry.name))
      : entry.name.endsWith('.yaml')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('deploy/kubernetes', () => {
  it('tags the image with package.json version', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const kustomization = readManifest<{ images: { name: string; newTag: string }[] }>(
      'kustomization.yaml',
    );
    assert.deepEqual(kustomization.images, [{ name: 'skiff', newTag: pkg.version }]);
    assert.equal(
      readManifest<Deployment>('deployment.yaml').spec.template.spec.containers[0]?.image,
      'skiff',
    );
  });

  it('names the ServiceAccount and Role as skiff messages do, bound to each other', () => {
    assert.equal(readManifest('serviceaccount.yaml').metadata.name, ROUTER_SERVICE_ACCOUNT);
    assert.equal(routerRole().metadata.name, ROUTER_ROLE);
    assert.ok(existsSync(join(repoRoot, ROLE_MANIFEST)), ROLE_MANIFEST);
    const binding = readManifest<
      KubeObject & { roleRef: object; subjects: Record<string, string>[] }
    >('rolebinding.yaml');
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: ROUTER_ROLE,
    });
    // No namespace: the binding's own, whichever it is applied to.
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: ROUTER_SERVICE_ACCOUNT }]);
    const pod = readManifest<Deployment>('deployment.yaml').spec.template.spec;
    assert.equal(pod.serviceAccountName, ROUTER_SERVICE_ACCOUNT);
  });

  it('documents exactly the Role its manifest holds (deploy/README.md, "What the Role grants")', () => {
    assert.deepEqual(documentedRules(), routerRole().rules);
  });

  it('grants nothing cluster-wide, no subresource, no wildcard, no RBAC or CRD rights', () => {
    assert.equal(routerRole().kind, 'Role');
    for (const rule of routerRole().rules) {
      for (const word of [...rule.apiGroups, ...rule.resources, ...rule.verbs]) {
        assert.notEqual(word, '*', JSON.stringify(rule));
      }
      for (const resource of rule.resources) assert.ok(!resource.includes('/'), resource);
      for (const group of rule.apiGroups) {
        assert.ok(
          !['rbac.authorization.k8s.io', 'apiextensions.k8s.io'].includes(group),
          `group ${group}`,
        );
      }
      assert.ok(!rule.verbs.some((v) => ['escalate', 'bind', 'impersonate'].includes(v)));
    }
  });

  it('names no namespace in any manifest', () => {
    for (const file of yamlFiles(join(repoRoot, 'deploy', 'kubernetes'))) {
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /^\s*namespace:/m, file);
    }
    assert.equal(INSTALLS.length, 4);
    for (const install of INSTALLS) assert.ok(existsSync(join(install.dir, 'kustomization.yaml')));
  });

  it('runs one hardened router pod with probes on its health port and a grace period longer than the drain', () => {
    const deployment = readManifest<Deployment>('deployment.yaml');
    const { spec } = deployment;
    assert.equal(spec.replicas, 1);
    assert.equal(spec.strategy.type, 'Recreate');
    assert.deepEqual(spec.template.metadata.labels, spec.selector.matchLabels);
    const pod = spec.template.spec;
    assert.equal(pod.automountServiceAccountToken, true);
    const drainS = defaultSettings.drainTimeoutMs / 1000;
    assert.ok(
      pod.terminationGracePeriodSeconds > drainS &&
        pod.terminationGracePeriodSeconds <= drainS + 10,
      `grace ${pod.terminationGracePeriodSeconds} s vs drain ${drainS} s`,
    );
    const identity = { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 };
    const seccomp = { seccompProfile: { type: 'RuntimeDefault' } };
    assert.deepEqual(pod.securityContext, { ...identity, ...seccomp });
    assert.equal(pod.containers.length, 1);
    const router = pod.containers[0]!;
    assert.deepEqual(router.securityContext, {
      ...identity,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      ...seccomp,
    });
    const argv = [...router.command, ...router.args];
    assert.deepEqual(argv.slice(0, 5), ['skiff', 'site', 'run', '--platform', 'kubernetes']);
    const flag = (name: string) => argv[argv.indexOf(name) + 1];
    const ports = Object.fromEntries(router.ports.map((p) => [p.name, p.containerPort]));
    assert.deepEqual(ports, {
      link: DEFAULT_LINK_PORT,
      health: Number(flag('--health-port')),
      metrics: Number(flag('--metrics-port')),
    });
    assert.equal(flag('--health-host'), '0.0.0.0');
    // Metrics on in the cluster (decision 0021), scraped at the pod IP as the annotations say.
    assert.equal(flag('--metrics-host'), '0.0.0.0');
    assert.deepEqual(spec.template.metadata.annotations, {
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': flag('--metrics-port'),
      'prometheus.io/path': '/metrics',
    });
    assert.deepEqual(router.readinessProbe.httpGet, { path: '/readyz', port: 'health' });
    assert.deepEqual(router.livenessProbe.httpGet, { path: '/livez', port: 'health' });
    for (const kind of ['requests', 'limits'] as const) {
      assert.deepEqual(Object.keys(router.resources[kind]).sort(), ['cpu', 'memory'], kind);
    }
    const env = Object.fromEntries(router.env.map((e) => [e.name, e]));
    assert.equal(env.SKIFF_NAMESPACE?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
    // The router makes its state dir (its own, mode 0700) inside the emptyDir (root's, 0777).
    const stateDir = env.SKIFF_STATE_DIR?.value ?? '';
    assert.deepEqual(
      router.volumeMounts.map((m) => [m.name, m.mountPath]),
      [['run', dirname(stateDir)]],
    );
    assert.ok(pod.volumes.find((v) => v.name === 'run')?.emptyDir, 'the state dir is an emptyDir');
  });

  it('the link Service sends 8443 to the router pod link port', () => {
    const service = readManifest<
      KubeObject & {
        spec: { type: string; selector: object; ports: { port: number; targetPort: string }[] };
      }
    >('service.yaml');
    assert.equal(service.metadata.name, 'skiff');
    assert.equal(service.spec.type, 'ClusterIP');
    assert.deepEqual(
      service.spec.selector,
      readManifest<Deployment>('deployment.yaml').spec.selector.matchLabels,
    );
    assert.deepEqual(
      service.spec.ports.map((p) => [p.port, p.targetPort]),
      [[8443, 'link']],
    );
  });

  it('lists every manifest of base/ in its kustomization', () => {
    const listed = (
      parse(readFileSync(join(BASE_DIR, 'kustomization.yaml'), 'utf8')) as {
        resources: string[];
      }
    ).resources.sort();
    const files = readdirSync(BASE_DIR)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .sort();
    assert.deepEqual(listed, files);
  });
});
