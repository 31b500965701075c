/**
 * The class of a link's last error, for the `reason` label of skiff_link_last_error_info:
 * the errors themselves are free text (a socket's message, a peer's GOAWAY reason), so a
 * label per text would be unbounded. The first matching rule wins; `skiff link status`
 * shows the whole text.
 */
export const LINK_ERROR_REASONS = [
  'revoked',
  'deleted',
  'went_away',
  'idle',
  'timeout',
  'refused',
  'unreachable',
  'limit',
  'protocol',
  'rejected',
  'tls',
  'lost',
  'other',
] as const;
export type LinkErrorReason = (typeof LINK_ERROR_REASONS)[number];

const rules: ReadonlyArray<[RegExp, LinkErrorReason]> = [
  // The issuer ended the credential (GOAWAY REVOKED, or this site revoked the peer's).
  [/revoked/i, 'revoked'],
  [/link deleted/i, 'deleted'],
  // The peer's GOAWAY: it is stopping or draining.
  [/went away|is stopping|router stopping/i, 'went_away'],
  // Heartbeat: nothing heard for idleTimeoutMs, or no HELLO in time.
  [/no traffic from peer|did not say hello/i, 'idle'],
  [/timed out|timeout|ETIMEDOUT/i, 'timeout'],
  [/ECONNREFUSED/, 'refused'],
  [/EHOSTUNREACH|ENETUNREACH|ENETDOWN|ENOTFOUND|EAI_AGAIN/, 'unreachable'],
  // A peer over one of its rates (mux/rate.ts), or a stream or size limit.
  [/exceeded|limit/i, 'limit'],
  [/protocol/i, 'protocol'],
  // The link endpoint answered but refused the upgrade, or hung up during TLS.
  [/answered HTTP|closed the connection during the TLS handshake/i, 'rejected'],
  [/certificate|\bTLS\b|\bSSL\b|handshake/i, 'tls'],
  [/connection lost|ECONNRESET|EPIPE|closed|replaced/i, 'lost'],
];

export function linkErrorReason(error: string): LinkErrorReason {
  for (const [pattern, reason] of rules) if (pattern.test(error)) return reason;
  return 'other';
}
