import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectorInfo } from '../../../src/admin/api.js';
import { connectorDetail, connectorTable } from '../../../src/cli/views/connector.js';
import { linkDetail } from '../../../src/cli/views/link.js';
import { listenerDetail, listenerTable } from '../../../src/cli/views/listener.js';
import { tokenDetail, tokenTable } from '../../../src/cli/views/token.js';
import {
  sampleConnectors,
  sampleLinks,
  sampleListeners,
  sampleTokens,
} from '../../helpers/fake-admin.js';

// The text people read: detail views (kubectl describe style) and the STATE/ERROR columns.
const now = Date.parse('2025-01-01T00:10:00.000Z');

const failing: ConnectorInfo = {
  address: 'db',
  host: '10.0.0.5',
  port: 5432,
  state: 'failing',
  error: 'connect ECONNREFUSED 10.0.0.5:5432',
  errorAt: '2025-01-01T00:09:30.000Z',
  activeStreams: 0,
};

describe('CLI text views', () => {
  it('a link in detail: every field, its state with since when, the RTT rounded', () => {
    assert.equal(
      linkDetail(sampleLinks[0]!, now),
      [
        'Name:        east',
        'Id:          4f0c1d2e3a4b',
        'Direction:   out (this site dialled)',
        'Peer:        east (6f1c2a8e-0000-4000-8000-000000000002)',
        'URL:         wss://east.example:8443/v1/link',
        'State:       up, since 2025-01-01T00:00:00.000Z (10m ago)',
        'Cost:        1',
        'RTT:         2.50ms',
        'Streams:     3',
        'Last error:  -',
      ].join('\n'),
    );
    const south = linkDetail(sampleLinks[2]!, now);
    assert.match(south, /^Peer: +- \(not yet known\)$/m);
    assert.match(south, /^Last error: +connect ECONNREFUSED 10\.0\.0\.9:8443$/m);
  });

  it('listeners: STATE and ERROR in the table and the detail', () => {
    assert.equal(
      listenerTable(sampleListeners),
      [
        'ADDRESS      LISTEN           STATE     STREAMS  ERROR',
        'api          127.0.0.1:18080  bound     1        -',
        'db.internal  [::1]:15432      retrying  0        port 15432 is in use',
      ].join('\n'),
    );
    assert.equal(
      listenerDetail(sampleListeners[1]!),
      [
        'Address:  db.internal',
        'Listen:   [::1]:15432',
        'State:    retrying',
        'Error:    port 15432 is in use',
        'Streams:  0',
      ].join('\n'),
    );
  });

  it('connectors: STATE and ERROR in the table, the last failure and when in the detail', () => {
    assert.equal(
      connectorTable([...sampleConnectors, failing]),
      [
        'ADDRESS  TARGET          STATE    STREAMS  ERROR',
        'api      127.0.0.1:8080  ready    2        -',
        'db       10.0.0.5:5432   failing  0        connect ECONNREFUSED 10.0.0.5:5432',
      ].join('\n'),
    );
    assert.equal(
      connectorDetail(failing, now),
      [
        'Address:     db',
        'Target:      10.0.0.5:5432',
        'State:       failing',
        'Last error:  connect ECONNREFUSED 10.0.0.5:5432, at 2025-01-01T00:09:30.000Z (30s ago)',
        'Streams:     0',
      ].join('\n'),
    );
    assert.match(connectorDetail(sampleConnectors[0]!, now), /^Last error: +-$/m);
    assert.equal(connectorTable([]), 'no connectors');
  });

  it('tokens: uses as used/allowed, times relative in the table and absolute in the detail', () => {
    assert.equal(
      tokenTable(sampleTokens, now),
      [
        'ID                                STATE   USED  EXPIRES  CREATED',
        '0123456789abcdef0123456789abcdef  active  1/2   in 5m    10m ago',
      ].join('\n'),
    );
    assert.equal(
      tokenDetail(sampleTokens[0]!, now),
      [
        'Id:       0123456789abcdef0123456789abcdef',
        'State:    active',
        'Used:     1 of 2 uses',
        'Created:  2025-01-01T00:00:00.000Z (10m ago)',
        'Expires:  2025-01-01T00:15:00.000Z (in 5m)',
      ].join('\n'),
    );
    assert.equal(tokenTable([], now), 'no tokens');
  });
});
