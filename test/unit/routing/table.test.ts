import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RoutingTable } from '../../../src/routing/table.js';

const peer = (siteName: string, outstanding = 0) => ({ siteName, outstanding });

it('prefers a local connector, then the lowest cost, then the fewest outstanding streams', () => {
  const table = new RoutingTable<ReturnType<typeof peer>>('west');
  const east = peer('east', 5);
  const north = peer('north', 1);
  const far = peer('far', 0);
  table.setPeer(east, 1, ['api']);
  table.setPeer(north, 1, ['api']);
  table.setPeer(far, 5, ['api', 'db']);
  assert.deepEqual(table.choose('api'), { kind: 'peer', peer: north, cost: 1 });
  assert.deepEqual(table.choose('api', new Set([north])), { kind: 'peer', peer: east, cost: 1 });
  assert.deepEqual(table.choose('db'), { kind: 'peer', peer: far, cost: 5 });
  assert.equal(table.choose('nothing'), undefined);
  table.setLocal(['api']);
  assert.deepEqual(table.choose('api'), { kind: 'local' });
  table.removePeer(far);
  assert.equal(table.choose('db'), undefined);
});

it('lists every address with the sites serving it, sorted', () => {
  const table = new RoutingTable<ReturnType<typeof peer>>('west');
  table.setLocal(['web']);
  table.setPeer(peer('east'), 1, ['web', 'api']);
  assert.deepEqual(table.addresses(), [
    { address: 'api', sites: ['east'] },
    { address: 'web', sites: ['east', 'west'] },
  ]);
});
