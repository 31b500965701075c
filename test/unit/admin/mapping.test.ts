import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  toCreateLinkRequest,
  toLinkInfo,
  toNetworkStatus,
  toSiteStatus,
} from '../../../src/admin/mapping.js';
import { adminService } from '../../../src/admin/proto.js';

/** A message through the real serializer and deserializer, as the server sends it. */
function viaWire(method: string, value: object): Record<string, unknown> {
  const def = adminService().service[method]!;
  return def.responseDeserialize(def.responseSerialize(value)) as Record<string, unknown>;
}

describe('admin message mapping', () => {
  it('leaves unset optional fields absent, not empty or zero', () => {
    const wire = viaWire('CreateLink', { name: 'x', direction: 'in', since: 's', streams: 0 });
    assert.equal('url' in wire, false);
    const info = toLinkInfo(wire);
    assert.deepStrictEqual(Object.keys(info).sort(), [
      'cost',
      'direction',
      'id',
      'name',
      'peerSiteId',
      'peerSiteName',
      'since',
      'state',
      'streams',
    ]);
  });

  it('keeps optional fields set to empty or zero values', () => {
    const info = toLinkInfo(viaWire('CreateLink', { name: 'x', url: '', rttMs: 0, lastError: '' }));
    assert.equal(info.url, '');
    assert.equal(info.rttMs, 0);
    assert.equal(info.lastError, '');
    // proto-loader's oneof marker keys do not leak into the result.
    assert.equal(
      Object.keys(info).some((k) => k.startsWith('_')),
      false,
    );
  });

  it('rounds round-trip times to the microsecond, links and network alike', () => {
    const link = toLinkInfo(viaWire('CreateLink', { name: 'x', rttMs: 0.123456789 }));
    assert.equal(link.rttMs, 0.123);
    const network = toNetworkStatus(
      viaWire('NetworkStatus', { links: [{ from: 'a', to: 'b', cost: 1, rttMs: 2.0004999 }] }),
    );
    assert.equal(network.links[0]!.rttMs, 2);
  });

  it('fills a status whose sub-messages are unset with zero values', () => {
    const status = toSiteStatus(viaWire('Status', {}));
    assert.deepStrictEqual(status.streams, { active: 0, total: 0 });
    assert.deepStrictEqual(status.buffered, { current: 0, peak: 0 });
    assert.deepStrictEqual(status.site, { id: '', name: '', platform: '', linkAccess: false });
    assert.deepStrictEqual(status.links, []);
  });

  it('maps a link request without a name to one without the key', () => {
    assert.deepStrictEqual(toCreateLinkRequest({ token: 't', cost: 1 }), { token: 't', cost: 1 });
    assert.deepStrictEqual(toCreateLinkRequest({ token: 't', name: 'n', _name: 'name', cost: 2 }), {
      token: 't',
      name: 'n',
      cost: 2,
    });
  });
});
