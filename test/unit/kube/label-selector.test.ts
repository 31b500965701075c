import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectorText } from '../../../src/kube/label-selector.js';
import { StreamBalance } from '../../../src/kube/stream-balance.js';

describe("a workload's selector as the API's labelSelector text", () => {
  it('writes matchLabels and every matchExpressions operator', () => {
    assert.deepEqual(
      selectorText({
        matchLabels: { app: 'api', 'app.kubernetes.io/part-of': 'shop' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['web', 'edge'] },
          { key: 'track', operator: 'NotIn', values: ['canary'] },
          { key: 'owner', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
      {
        text: 'app=api,app.kubernetes.io/part-of=shop,tier in (edge,web),track notin (canary),owner,!legacy',
      },
    );
  });

  it('refuses what it cannot pass on safely: empty, unknown operators, bad keys or values, too many terms', () => {
    assert.match(String(selectorText({}).problem), /empty: it would take every pod/);
    assert.match(String(selectorText(undefined).problem), /empty/);
    assert.match(
      String(selectorText({ matchExpressions: [{ key: 'a', operator: 'Near' }] }).problem),
      /operator "Near", which Kubernetes does not define/,
    );
    assert.match(
      String(
        selectorText({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }).problem,
      ),
      /In term for a lists no values/,
    );
    assert.match(String(selectorText({ matchLabels: { 'a b': 'x' } }).problem), /not a label key/);
    assert.match(String(selectorText({ matchLabels: { a: 'x,y' } }).problem), /not a label value/);
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    assert.match(
      String(selectorText({ matchLabels: many }).problem),
      /33 terms; skiff follows at most 32/,
    );
  });
});

describe('the least-streams choice', () => {
  const pods = ['api-c', 'api-a', 'api-b'].map((name, i) => ({
    name,
    ip: `10.0.0.${i + 1}`,
    port: 80,
  }));

  it('orders by open streams, then by name; a lease counts until released, once', () => {
    const balance = new StreamBalance();
    const picks: string[] = [];
    const leases: Array<() => void> = [];
    for (let i = 0; i < 6; i++) {
      const [best] = balance.order(pods);
      picks.push(best!.name);
      leases.push(balance.lease(best!));
    }
    assert.deepEqual(picks, ['api-a', 'api-b', 'api-c', 'api-a', 'api-b', 'api-c']);
    leases[4]!();
    leases[4]!();
    assert.equal(balance.order(pods)[0]!.name, 'api-b');
    assert.equal(balance.count(pods[1]!), 2);
    for (const release of leases) release();
    assert.equal(balance.size, 0, 'nothing is kept for endpoints without streams');
  });

  it('counts the same pod once whichever target reaches it', () => {
    const balance = new StreamBalance();
    balance.lease({ name: 'api-a', ip: '10.0.0.2', port: 80 });
    assert.equal(balance.count({ name: '10.0.0.2', ip: '10.0.0.2', port: 80 }), 1);
    assert.equal(balance.count({ name: 'api-a', ip: '10.0.0.2', port: 81 }), 0);
  });
});
