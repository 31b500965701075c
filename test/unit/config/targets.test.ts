/**
 * The one parser of connector targets (config/targets.ts): what the CLI's flags, the
 * connector record's schema and the resolvers accept, refuse, and how they spell it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseSelector,
  parseTargetPort,
  parseWorkload,
  readTarget,
  sameTarget,
  type TargetFields,
  targetFields,
  targetOf,
  targetText,
} from '../../../src/config/targets.js';
import { isSkiffError } from '../../../src/errors.js';
import { recordProblem } from '../../../src/state/schema.js';

/** The message of the INVALID_ARGUMENT that `f` throws. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'), String(err));
    return err.message;
  }
  assert.fail('it was accepted');
}

describe('workload targets', () => {
  it('takes deployment/, statefulset/ and service/ with the names Kubernetes allows, and kubectl short kinds', () => {
    assert.deepEqual(parseWorkload('deployment/api', 'target'), {
      kind: 'deployment',
      name: 'api',
    });
    assert.deepEqual(parseWorkload('deploy/api', 'target'), { kind: 'deployment', name: 'api' });
    assert.deepEqual(parseWorkload('Deployments/api.v2', 'target'), {
      kind: 'deployment',
      name: 'api.v2',
    });
    assert.deepEqual(parseWorkload('sts/db', 'target'), { kind: 'statefulset', name: 'db' });
    assert.deepEqual(parseWorkload('statefulset/db-0a', 'target'), {
      kind: 'statefulset',
      name: 'db-0a',
    });
    assert.deepEqual(parseWorkload('svc/web', 'target'), { kind: 'service', name: 'web' });
    assert.deepEqual(parseWorkload('service/web', 'target'), { kind: 'service', name: 'web' });
    // A Deployment's name is a DNS subdomain, up to 253 characters.
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    assert.equal(long.length, 253);
    assert.equal(parseWorkload(`deployment/${long}`, 'target').name, long);
  });

  it('refuses other kinds, bad names and oversized text, saying how to write one', () => {
    assert.match(
      refusal(() => parseWorkload('pod/api', 'target')),
      /^target "pod\/api" is not a workload: write deployment\/NAME, statefulset\/NAME or service\/NAME$/,
    );
    assert.match(
      refusal(() => parseWorkload('api', 'target')),
      /is not a workload/,
    );
    assert.match(
      refusal(() => parseWorkload('deployment/', 'target')),
      /target's name "" is not valid/,
    );
    assert.match(
      refusal(() => parseWorkload('deployment/API', 'target')),
      /target's name "API" is not valid: use lower-case letters, digits, '-' and '\.'/,
    );
    assert.match(
      refusal(() => parseWorkload('deployment/a/b', 'target')),
      /"a\/b" is not valid/,
    );
    assert.match(
      refusal(() => parseWorkload(`deployment/${'a'.repeat(254)}`, 'target')),
      /target's name "a+\.\.\." is not valid: .* at most 253 characters/,
    );
    assert.match(
      refusal(() => parseWorkload(`deployment/${'a'.repeat(300)}`, 'target')),
      /not a workload/,
    );
    // Service names are DNS-1035 labels: a letter first, no dots, 63 at most.
    assert.match(
      refusal(() => parseWorkload('service/1web', 'target')),
      /is not a Service name/,
    );
    assert.match(
      refusal(() => parseWorkload('service/web.v2', 'target')),
      /is not a Service name/,
    );
    assert.match(
      refusal(() => parseWorkload(`service/${'a'.repeat(64)}`, 'target')),
      /not a Service name/,
    );
    // A message quotes at most 64 characters of what it was given.
    const message = refusal(() => parseWorkload(`x${'y'.repeat(5000)}`, 'target'));
    assert.ok(message.length < 200, message);
  });
});

describe('selector targets', () => {
  it('takes KEY=VALUE terms (== too), trims spaces and spells them sorted', () => {
    assert.deepEqual(parseSelector('tier=web,app=api', '--selector'), {
      terms: [
        ['app', 'api'],
        ['tier', 'web'],
      ],
      text: 'app=api,tier=web',
    });
    assert.equal(parseSelector(' app == api , x=', '--selector').text, 'app=api,x=');
    assert.equal(
      parseSelector('app.kubernetes.io/name=skiff_router.v1', '--selector').text,
      'app.kubernetes.io/name=skiff_router.v1',
    );
  });

  it('refuses set-based and negative terms, repeats, bad keys and values, and bounds terms and length', () => {
    for (const text of ['app!=api', 'app in (a,b)', 'app', '!app', 'app=a=b']) {
      assert.match(
        refusal(() => parseSelector(text, '--selector')),
        /--selector term ".*" is not KEY=VALUE: skiff selects pods by labels they carry/,
        text,
      );
    }
    assert.match(
      refusal(() => parseSelector('', '--selector')),
      /is empty: it would take every pod/,
    );
    assert.match(
      refusal(() => parseSelector('app=a,app=b', '--selector')),
      /gives "app" twice/,
    );
    assert.match(
      refusal(() => parseSelector('-app=a', '--selector')),
      /key "-app" is not a label key/,
    );
    assert.match(
      refusal(() => parseSelector('Bad_/x=a', '--selector')),
      /is not a label key/,
    );
    assert.match(
      refusal(() => parseSelector(`app=${'v'.repeat(64)}`, '--selector')),
      /value of app "v{64}" is not a label value/,
    );
    const terms = Array.from({ length: 17 }, (_, i) => `k${i}=v`).join(',');
    assert.match(
      refusal(() => parseSelector(terms, '--selector')),
      /has 17 terms; skiff takes at most 16/,
    );
    assert.equal(
      parseSelector(terms.split(',').slice(0, 16).join(','), '--selector').terms.length,
      16,
    );
    assert.match(
      refusal(() => parseSelector(`a=${','.repeat(2000)}`, '--selector')),
      /at most 1024 characters/,
    );
  });
});

describe('target ports', () => {
  it('reads digits as a port number and anything else as a port name', () => {
    assert.equal(parseTargetPort('8080', '--target-port'), 8080);
    assert.equal(parseTargetPort('http', '--target-port'), 'http');
    assert.equal(parseTargetPort('grpc-web2', '--target-port'), 'grpc-web2');
  });

  it('refuses ports out of range and names Kubernetes would not give a port', () => {
    assert.match(
      refusal(() => parseTargetPort('0', '--target-port')),
      /--target-port 0 is not a port/,
    );
    assert.match(
      refusal(() => parseTargetPort('70000', '--target-port')),
      /is not a port/,
    );
    for (const name of ['HTTP', 'a--b', '-http', 'a'.repeat(16), 'x_y', '']) {
      assert.match(
        refusal(() => parseTargetPort(name, '--target-port')),
        /is not a port number or port name: give 1 to 65535, or a name of at most 15/,
        name,
      );
    }
  });
});

describe('connector records', () => {
  const check = (rec: Record<string, unknown>) =>
    recordProblem('connector', 'api', { address: 'api', ...rec });

  it('reads the records written before workloads existed, unchanged', () => {
    const old = { address: 'api', host: '127.0.0.1', port: 8080 };
    assert.equal(recordProblem('connector', 'api', old), undefined);
    assert.deepEqual(targetOf(old), { kind: 'host', host: '127.0.0.1', port: 8080 });
    assert.equal(targetText(targetOf({ host: '::1', port: 80 })), '[::1]:80');
  });

  it('carries a workload or selector with its port and target port, defaulting to the port', () => {
    assert.equal(check({ workload: 'deployment/api', port: 80 }), undefined);
    assert.deepEqual(targetOf({ workload: 'deploy/api', port: 80 }), {
      kind: 'deployment',
      name: 'api',
      port: 80,
      targetPort: 80,
    });
    assert.equal(check({ workload: 'service/api', port: 80, targetPort: 'http' }), undefined);
    assert.equal(
      targetText(targetOf({ workload: 'service/api', port: 80, targetPort: 'http' })),
      'service/api:http',
    );
    assert.equal(check({ selector: 'tier=web,app=api', port: 80, targetPort: 8080 }), undefined);
    const selector = targetOf({ selector: 'tier=web,app=api', port: 80, targetPort: 8080 });
    assert.equal(targetText(selector), 'selector app=api,tier=web:8080');
    // The canonical fields: kinds spelt out, selectors sorted, a default target port left out.
    assert.deepEqual(targetFields(selector), {
      selector: 'app=api,tier=web',
      port: 80,
      targetPort: 8080,
    });
    assert.deepEqual(targetFields(targetOf({ workload: 'sts/db', port: 5432, targetPort: 5432 })), {
      workload: 'statefulset/db',
      port: 5432,
    });
  });

  it('refuses a record with no target, two targets, or a target port on a host, naming the fields', () => {
    assert.equal(
      check({ port: 80 }),
      'it names no target: give host (with port), workload or selector',
    );
    assert.equal(
      check({ host: 'db', workload: 'deployment/db', port: 80 }),
      'it gives host and workload: give only one target',
    );
    assert.equal(
      check({ host: 'db', port: 80, targetPort: 8080 }),
      'its targetPort goes with a workload or selector; a host target dials its port',
    );
    assert.match(
      String(check({ workload: 'pod/x', port: 80 })),
      /its workload "pod\/x" is not a workload/,
    );
    assert.match(
      String(check({ selector: 'a in (b)', port: 80 })),
      /its selector term "a in \(b\)"/,
    );
    assert.match(
      String(check({ workload: 'deployment/x', port: 80, targetPort: 'NO' })),
      /its field "targetPort" "NO"/,
    );
    assert.match(
      String(check({ workload: 'deployment/x', port: 80, targetPort: true })),
      /targetPort/,
    );
    assert.match(String(check({ workload: 'deployment/x' })), /its field "port" is missing/);
    assert.match(
      String(check({ selector: 'x'.repeat(2000), port: 80 })),
      /"selector" must be text of 1 to 1024/,
    );
    assert.equal(
      readTarget({ host: '', port: 80 }).problem,
      'its host "" is not a host name or IP address',
    );
  });

  it('tells a changed target from the same one', () => {
    const a: TargetFields = { workload: 'deployment/api', port: 80 };
    assert.equal(sameTarget(a, { ...a }), true);
    assert.equal(sameTarget(a, { ...a, targetPort: 81 }), false);
    assert.equal(sameTarget(a, { workload: 'deployment/web', port: 80 }), false);
    assert.equal(sameTarget({ host: 'x', port: 1 }, { host: 'x', port: 2 }), false);
  });
});
