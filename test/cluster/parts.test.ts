import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { commandLine, containerEnv, expand, runAs } from './container-spec.js';
import { PodConfigError } from './errors.js';
import { hostsFile } from './hosts-file.js';
import { launchArgv } from './launch.js';
import { proxyRules } from './nft-rules.js';
import { serviceViews } from './services.js';

/** The test cluster's pure parts: what kube-proxy, DNS and the kubelet make of API objects. */

const service = (name: string, clusterIP: string, ports: V1Service['spec']): V1Service => ({
  metadata: { name, namespace: 'ns' },
  spec: { clusterIP, ...ports },
});

function slice(
  service: string,
  endpoints: V1EndpointSlice['endpoints'],
  port = 8080,
): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: {
      name: `${service}-x`,
      namespace: 'ns',
      labels: { 'kubernetes.io/service-name': service },
    },
    ports: [{ name: 'web', port, protocol: 'TCP' }],
    endpoints,
  };
}

describe('services: a Service and its EndpointSlices as kube-proxy sees them', () => {
  const web = service('web', '10.96.0.20', { ports: [{ name: 'web', port: 80 }] });

  it('sends a port to the ready endpoints at the slice port of the same name', () => {
    const views = serviceViews(
      [web],
      [
        slice('web', [
          { addresses: ['10.244.0.10'], conditions: { ready: true } },
          { addresses: ['10.244.0.9'], conditions: { ready: false } },
          { addresses: ['10.244.0.2'] },
        ]),
      ],
    );
    assert.deepEqual(views, [
      {
        namespace: 'ns',
        name: 'web',
        clusterIP: '10.96.0.20',
        ports: [
          {
            protocol: 'TCP',
            port: 80,
            backends: [
              { ip: '10.244.0.2', port: 8080 },
              { ip: '10.244.0.10', port: 8080 },
            ],
          },
        ],
      },
    ]);
  });

  it('falls back to serving, terminating endpoints when none is ready, and skips headless Services', () => {
    const views = serviceViews(
      [web, service('headless', 'None', { ports: [{ port: 80 }] })],
      [
        slice('web', [
          {
            addresses: ['10.244.0.3'],
            conditions: { ready: false, serving: true, terminating: true },
          },
          {
            addresses: ['10.244.0.4'],
            conditions: { ready: false, serving: false, terminating: true },
          },
        ]),
      ],
    );
    assert.deepEqual(
      views.map((v) => [v.name, v.ports[0]?.backends]),
      [['web', [{ ip: '10.244.0.3', port: 8080 }]]],
    );
  });
});

describe('nft-rules: kube-proxy as one nftables transaction per pod namespace', () => {
  it('DNATs round-robin to the backends, and rejects a port with none', () => {
    const rules = proxyRules([
      {
        namespace: 'ns',
        name: 'web',
        clusterIP: '10.96.0.20',
        ports: [
          {
            protocol: 'TCP',
            port: 80,
            backends: [
              { ip: '10.244.0.2', port: 8080 },
              { ip: '10.244.0.3', port: 8080 },
            ],
          },
          { protocol: 'TCP', port: 81, backends: [] },
        ],
      },
    ]);
    assert.match(
      rules,
      /^table ip skiff_proxy\ndelete table ip skiff_proxy\ntable ip skiff_proxy \{/,
    );
    assert.ok(
      rules.includes(
        'ip daddr 10.96.0.20 tcp dport 80 dnat ip to numgen inc mod 2 map { 0 : 10.244.0.2 . 8080, 1 : 10.244.0.3 . 8080 }',
      ),
    );
    assert.ok(rules.includes('ip daddr 10.96.0.20 tcp dport 81 reject with tcp reset'));
  });
});

describe('hosts-file: cluster DNS as the pod resolves names', () => {
  it('names a Service plainly in its own namespace only, and fully qualified everywhere', () => {
    const views = [
      { namespace: 'a', name: 'api', clusterIP: '10.96.0.5', ports: [] },
      { namespace: 'b', name: 'db', clusterIP: '10.96.0.6', ports: [] },
    ];
    const hosts = hostsFile({ namespace: 'a', hostname: 'pod-1', ip: '10.244.0.7' }, views);
    assert.ok(hosts.includes('10.244.0.7\tpod-1\n'));
    assert.ok(hosts.includes('10.96.0.5\tapi api.a api.a.svc api.a.svc.cluster.local\n'));
    assert.ok(hosts.includes('10.96.0.6\tdb.b db.b.svc db.b.svc.cluster.local\n'));
  });
});

describe('container-spec: a container spec as a kubelet resolves it', () => {
  const pod: V1Pod = {
    metadata: { name: 'p', namespace: 'ns', uid: 'u1' },
    spec: { containers: [] },
  };
  const image = { entrypoint: ['node', 'app.js'], cmd: ['--default'] };

  it('expands $(VAR) where defined, keeps it where not, and turns $$ into $', () => {
    assert.equal(expand('$(A)-$(B)-$$(A)', { A: '1' }), '1-$(B)-$(A)');
  });

  it('replaces the entrypoint with command, CMD with args', () => {
    const c = (fields: Partial<V1Container>): V1Container => ({ name: 'c', ...fields });
    assert.deepEqual(commandLine(image, c({}), {}), ['node', 'app.js', '--default']);
    assert.deepEqual(commandLine(image, c({ args: ['--port', '$(P)'] }), { P: '80' }), [
      'node',
      'app.js',
      '--port',
      '80',
    ]);
    assert.deepEqual(commandLine(image, c({ command: ['sh'] }), {}), ['sh']);
  });

  it('fills env from fieldRefs and ConfigMap keys, after the service variables', async () => {
    const container: V1Container = {
      name: 'c',
      env: [
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'URL', value: 'https://$(KUBERNETES_SERVICE_HOST)' },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
      ],
    };
    const env = await containerEnv(
      pod,
      container,
      image,
      { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
      { podIP: '10.244.0.2', hostIP: '10.244.0.1' },
      async (kind, namespace, name) =>
        kind === 'ConfigMap' && namespace === 'ns' && name === 'cfg' ? { mode: 'fast' } : undefined,
    );
    assert.deepEqual(env, {
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      NS: 'ns',
      IP: '10.244.0.2',
      URL: 'https://10.96.0.1',
      MODE: 'fast',
    });
  });

  it("lets the container's securityContext win over the pod's, and refuses root under runAsNonRoot", () => {
    const withContext: V1Pod = {
      ...pod,
      spec: {
        containers: [],
        securityContext: { runAsUser: 1000, runAsGroup: 2000, fsGroup: 3000 },
      },
    };
    const own: V1Container = {
      name: 'c',
      securityContext: { runAsUser: 1001, capabilities: { drop: ['ALL'] } },
    };
    assert.deepEqual(runAs(withContext, own, image), {
      uid: 1001,
      gid: 2000,
      groups: [3000],
      noNewPrivs: false,
      dropAllCapabilities: true,
    });
    const nonRoot: V1Container = { name: 'c', securityContext: { runAsNonRoot: true } };
    assert.throws(
      () => runAs(pod, nonRoot, image),
      (err: unknown) =>
        err instanceof PodConfigError && err.reason === 'CreateContainerConfigError',
    );
  });
});

describe('launch: the words that start a container', () => {
  it('quotes every path, mounts under a private /run and ends by exec-ing setpriv', () => {
    const argv = launchArgv({
      netns: 'skiff-pod-1',
      hostname: 'p',
      mounts: [
        {
          source: "/tmp/it's",
          target: '/var/run/secrets/kubernetes.io/serviceaccount',
          readOnly: true,
        },
      ],
      workingDir: '/work',
      runAs: { uid: 1000, gid: 1000, groups: [], noNewPrivs: true, dropAllCapabilities: false },
      command: ['node', 'app.js'],
    });
    assert.deepEqual(argv.slice(0, 8), [
      'ip',
      'netns',
      'exec',
      'skiff-pod-1',
      'unshare',
      '--uts',
      '/bin/sh',
      '-c',
    ]);
    assert.deepEqual(argv.slice(9), ['sh', 'node', 'app.js']);
    const script = argv[8]!;
    assert.ok(
      script.includes(
        "mount -n --bind '/tmp/it'\\''s' '/var/run/secrets/kubernetes.io/serviceaccount'",
      ),
    );
    assert.ok(
      script.includes(
        "mount -n -o remount,bind,ro '/var/run/secrets/kubernetes.io/serviceaccount'",
      ),
    );
    assert.ok(
      script.endsWith(
        'exec setpriv --reuid=1000 --regid=1000 --clear-groups --no-new-privs -- "$@"',
      ),
    );
  });
});
