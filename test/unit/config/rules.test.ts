/**
 * One definition per rule: the CLI's flag parsers, the admin server's request checks and the
 * state schemas accept and refuse exactly the same names, hosts and ports (config/rules.ts).
 * Before, the CLI allowed '.' in names and the router did not, and only the CLI checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointRequest } from '../../../src/admin/requests.js';
import { parseHost, parseName, parsePort } from '../../../src/cli/validate.js';
import { isSkiffError } from '../../../src/errors.js';
import { recordProblem } from '../../../src/state/schema.js';
import { runCli } from '../../helpers/cli.js';

const good = { address: 'web', host: '127.0.0.1', port: 8080 };

function accepts(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (err) {
    assert.ok(isSkiffError(err, 'SKIFF_ERR_INVALID_ARGUMENT'), String(err));
    return false;
  }
}

/** Whether each layer accepts the value in `field`: [cli, admin, store]. */
function layers(field: 'address' | 'host' | 'port', value: string | number): boolean[] {
  const req = { ...good, [field]: value };
  const cli =
    field === 'address'
      ? () => parseName(String(value), 'address')
      : field === 'host'
        ? () => parseHost(String(value), '--host')
        : () => parsePort(String(value), '--port');
  return [
    accepts(cli),
    accepts(() => endpointRequest(req)),
    recordProblem('listener', req.address, req) === undefined,
  ];
}

describe('shared input rules', () => {
  const cases: ['address' | 'host' | 'port', string | number, boolean][] = [
    ['address', 'web', true],
    ['address', 'a-1', true],
    ['address', '1a', true],
    ['address', 'a'.repeat(63), true],
    ['address', 'a'.repeat(64), false],
    ['address', 'a.b', false],
    ['address', 'Web', false],
    ['address', '-web', false],
    ['address', 'web-', false],
    ['address', 'a_b', false],
    ['address', '', false],
    ['host', '127.0.0.1', true],
    ['host', '::1', true],
    ['host', 'db.example.com', true],
    ['host', 'localhost', true],
    ['host', '', false],
    ['host', 'not a host!!', false],
    ['host', 'a..b', false],
    ['host', `${'a'.repeat(64)}.com`, false],
    ['port', 1, true],
    ['port', 65535, true],
    ['port', 0, false],
    ['port', 65536, false],
    ['port', 70000, false],
  ];
  for (const [field, value, ok] of cases) {
    it(`${ok ? 'accepts' : 'refuses'} ${field} ${JSON.stringify(value).slice(0, 40)} in every layer`, () => {
      assert.deepEqual(layers(field, value), [ok, ok, ok], '[cli, admin, store]');
    });
  }

  it('the CLI refuses a dotted address with one line naming the rule, exit 2', async () => {
    const result = await runCli('/nonexistent-state', [
      'expose',
      'a.b',
      '--target',
      '127.0.0.1:80',
    ]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(
      result.stderr,
      /address "a.b" is not valid: use lower-case letters, digits and '-'/,
    );
  });

  it('quotes a huge value briefly', () => {
    const huge = 'x'.repeat(1_000_000);
    assert.ok(!accepts(() => endpointRequest({ ...good, address: huge })));
    try {
      parseName(huge, 'address');
    } catch (err) {
      assert.ok((err as Error).message.length < 250);
    }
  });
});
