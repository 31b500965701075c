/** The last-error classes of links (metrics/link-error.ts), from errors skiff really reports. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINK_ERROR_REASONS, linkErrorReason } from '../../../src/metrics/link-error.js';

test('link errors fall into a fixed set of reasons', () => {
  const cases: Array<[string, string]> = [
    ['link credential revoked by site-a', 'revoked'],
    ['link deleted at site-a', 'deleted'],
    ['peer went away: site-a is stopping', 'went_away'],
    ['no traffic from peer for 15000 ms', 'idle'],
    ['peer did not say hello in time', 'idle'],
    ['wss://127.0.0.1:8443/v1/link: handshake timed out', 'timeout'],
    ['wss://127.0.0.1:8443/v1/link: connect ECONNREFUSED 127.0.0.1:8443', 'refused'],
    ['wss://a.example:8443/v1/link: getaddrinfo ENOTFOUND a.example', 'unreachable'],
    ['protocol error: peer exceeded 50 PINGs per second (setting peerPingRate)', 'limit'],
    ['protocol error: OPEN with stream id 4: wrong parity or not increasing', 'protocol'],
    ['wss://h:1/v1/link: link endpoint answered HTTP 403 instead of upgrading', 'rejected'],
    ['wss://h:1/v1/link: self-signed certificate in certificate chain', 'tls'],
    ['connection lost', 'lost'],
    ['closed (1011: internal error)', 'lost'],
    ['something new', 'other'],
  ];
  for (const [error, reason] of cases) assert.equal(linkErrorReason(error), reason, error);
  assert.deepEqual(
    new Set(cases.map(([, r]) => r)),
    new Set(LINK_ERROR_REASONS),
    'every reason is reachable',
  );
});
