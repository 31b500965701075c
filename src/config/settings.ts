import { ErrorCode, SkiffError } from '../errors.js';

/**
 * Router limits and timers. Defaults suit a laptop or a pod; a site may override any of
 * them in `settings.json` in its state dir (local platform). Validated at start-up so a
 * bad value fails loudly instead of misbehaving under load.
 */
export interface Settings {
  /** Most concurrent streams one link carries; further opens are reset with LIMIT. */
  maxStreamsPerLink: number;
  /** Largest DATA payload in one frame; larger incoming frames are a protocol error. */
  maxFrameSize: number;
  /** Largest WebSocket message (several frames coalesced) sent or accepted. */
  maxMessageSize: number;
  /** Bytes a stream may have in flight towards its receiver before waiting for credit. */
  streamWindow: number;
  /**
   * Bytes queued on one link (not yet taken by its socket) before streams pause. Kept
   * small: bytes that wait long in the queue outlive two scavenges and then hold malloc
   * memory until a full GC (docs/performance.md); 1 MiB still keeps the socket busy.
   */
  linkHighWater: number;
  /**
   * Time allowed for a link's TLS and WebSocket handshake and its HELLO exchange; on the link
   * port, for a client's TLS handshake and then its whole request (upgrade or redeem).
   */
  handshakeTimeoutMs: number;
  /** Time allowed to dial a connector's target. */
  connectTimeoutMs: number;
  /** How often a link pings its peer. */
  pingIntervalMs: number;
  /** A link that hears nothing for this long is declared dead and redialled. */
  idleTimeoutMs: number;
  /** First reconnect delay; grows x1.6 with ±20% jitter up to backoffMaxMs. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  // Lifecycle: link port admission (before authentication) and the drain on SIGTERM.
  /** Unauthenticated connections (TLS handshakes, redeem requests) one source address may hold on the link port; more are closed at once. */
  maxUnauthenticatedPerSource: number;
  /** Unauthenticated connections the link port holds in total; 0 means a quarter of the fd limit (RLIMIT_NOFILE). */
  maxUnauthenticated: number;
  /** Redeem requests one source address may make per minute, after a burst of 10; more are answered 429. */
  redeemsPerSourcePerMinute: number;
  /** After SIGTERM, how long open streams may go on (no new ones are taken) before what is left is reset. */
  drainTimeoutMs: number;
  /**
   * The port of the health endpoint a kubelet probes (/livez, /readyz: src/site/health.ts);
   * 0 serves none. `site run --health-port` overrides it; deploy/kubernetes turns it on.
   */
  healthPort: number;
  /**
   * The port of the metrics endpoint Prometheus scrapes (/metrics: src/metrics/server.ts);
   * 0 serves none. `site run --metrics-port` overrides it, `--metrics-host` says where it
   * binds (127.0.0.1 by default). It may not be the health port (docs/decisions/0021).
   */
  metricsPort: number;
  /**
   * kubernetes: how long an address may be gone from the network before its proxy
   * Service is deleted (links flap; Services should not): docs/decisions/0023.
   */
  proxyServiceGraceMs: number;
  // mux: what one peer may make a link do per second (issue 9 point 6); beyond a rate, with
  // a burst of twice that, the link is closed and the reason shown in `link status`.
  /** OPENs a peer may send per second on one link. */
  peerOpenRate: number;
  /** RESETs a peer may send per second on one link. */
  peerResetRate: number;
  /** OPENs of a peer this router may refuse per second on one link. */
  peerRefusedRate: number;
  /** PINGs a peer may send per second on one link (a router sends one per pingIntervalMs). */
  peerPingRate: number;
  /** CONTROL messages (hello, adverts, addresses) a peer may send per second on one link. */
  peerControlRate: number;
  // identity (issue 9 points 2, 7): bounds on what the service network may hold.
  /** Most sites the link-state database holds; adverts of further new sites are refused. */
  maxSites: number;
  /** Most addresses one site may advertise; a larger advert is refused. */
  maxAddressesPerSite: number;
  /**
   * Largest advert body (JSON bytes) accepted from any site; a larger one is refused. With
   * its key and signature an advert must also fit one message (maxMessageSize).
   */
  maxAdvertBytes: number;
}

export const defaultSettings: Readonly<Settings> = Object.freeze({
  maxStreamsPerLink: 16_384,
  maxFrameSize: 64 * 1024,
  maxMessageSize: 256 * 1024,
  streamWindow: 2 * 1024 * 1024,
  linkHighWater: 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 5_000,
  idleTimeoutMs: 15_000,
  backoffInitialMs: 200,
  backoffMaxMs: 5_000,
  // Lifecycle.
  maxUnauthenticatedPerSource: 10,
  maxUnauthenticated: 0,
  redeemsPerSourcePerMinute: 60,
  drainTimeoutMs: 30_000,
  healthPort: 0,
  metricsPort: 0,
  proxyServiceGraceMs: 30_000,
  // mux (issue 9 point 6)
  peerOpenRate: 20_000,
  peerResetRate: 20_000,
  peerRefusedRate: 2_000,
  peerPingRate: 50,
  peerControlRate: 500,
  // identity
  maxSites: 1_000,
  maxAddressesPerSite: 1_000,
  maxAdvertBytes: 32 * 1024,
});

const bounds: Record<keyof Settings, [number, number]> = {
  maxStreamsPerLink: [1, 1_000_000],
  maxFrameSize: [1024, 16 * 1024 * 1024],
  maxMessageSize: [1024, 64 * 1024 * 1024],
  streamWindow: [1024, 1024 * 1024 * 1024],
  linkHighWater: [64 * 1024, 1024 * 1024 * 1024],
  handshakeTimeoutMs: [100, 600_000],
  connectTimeoutMs: [100, 600_000],
  pingIntervalMs: [100, 600_000],
  idleTimeoutMs: [200, 3_600_000],
  backoffInitialMs: [10, 600_000],
  backoffMaxMs: [10, 3_600_000],
  // Lifecycle.
  maxUnauthenticatedPerSource: [1, 1_000_000],
  maxUnauthenticated: [0, 1_000_000],
  redeemsPerSourcePerMinute: [1, 1_000_000],
  drainTimeoutMs: [0, 3_600_000],
  healthPort: [0, 65_535],
  metricsPort: [0, 65_535],
  proxyServiceGraceMs: [0, 86_400_000],
  // mux (issue 9 point 6)
  peerOpenRate: [1, 10_000_000],
  peerResetRate: [1, 10_000_000],
  peerRefusedRate: [1, 10_000_000],
  peerPingRate: [1, 10_000_000],
  peerControlRate: [1, 10_000_000],
  // identity
  maxSites: [2, 100_000],
  maxAddressesPerSite: [1, 100_000],
  maxAdvertBytes: [1024, 16 * 1024 * 1024],
};

/** Merges overrides onto the defaults, rejecting unknown keys and out-of-range values. */
export function resolveSettings(overrides: Record<string, unknown> = {}): Settings {
  const out: Settings = { ...defaultSettings };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in bounds)) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `unknown setting "${key}": known settings are ${Object.keys(bounds).join(', ')}`,
      );
    }
    const [min, max] = bounds[key as keyof Settings];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new SkiffError(
        ErrorCode.INVALID_ARGUMENT,
        `setting "${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
      );
    }
    out[key as keyof Settings] = value;
  }
  if (out.maxMessageSize < out.maxFrameSize + 64) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      'setting "maxMessageSize" must exceed "maxFrameSize" by at least 64 bytes',
    );
  }
  if (out.idleTimeoutMs <= out.pingIntervalMs) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      'setting "idleTimeoutMs" must be longer than "pingIntervalMs"',
    );
  }
  return out;
}

// identity: the frame size range a peer's HELLO may announce is the one a site may configure.
export const maxFrameSizeBounds: readonly [number, number] = bounds.maxFrameSize;
