import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LinkInfo } from '../admin/api.js';
import { VERSION } from '../version.js';
import { OUTCOMES, SIDES, type Side } from './address-stats.js';
import type { LinkCounters } from './link-counters.js';
import { linkErrorReason } from './link-error.js';
import { collectProcessMetrics } from './process-metrics.js';
import { ADVERT_RESULTS, type MetricsSource, type RoutingCounts } from './source.js';

/**
 * The router's Prometheus registry (docs/metrics.md lists every metric). Nothing here runs
 * on the data path: each metric's collect() reads, when /metrics is scraped, counters the
 * router keeps anyway (MetricsSource); the one exception is the open-time histogram, which
 * observes once per opened stream. Every series carries the `site` label.
 */
export interface RouterMetrics {
  readonly registry: Registry;
  /** The exposition text, as /metrics serves it. */
  scrape(): Promise<string>;
  readonly contentType: string;
  /** Detaches the registry from the router's hooks. */
  close(): void;
}

type Labels = Record<string, string>;
type Fill = (put: (labels: Labels, value: number) => void) => void;

/** How often the event-loop lag (nodejs_eventloop_lag_*) is sampled. */
const LAG_SAMPLE_MS = 100;

/** Buckets of the open-time histogram: a stream opens in a millisecond locally, seconds across a slow WAN. */
const OPEN_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createRouterMetrics(
  source: MetricsSource,
  { processMetrics = true }: { processMetrics?: boolean } = {},
): RouterMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ site: source.siteName });
  // The event-loop lag is sampled every 100 ms, not prom-client's 10: a timer 100 times a
  // second cost an idle router ~4 ms of CPU a second, three times all its other idle work.
  if (processMetrics) collectProcessMetrics(registry, LAG_SAMPLE_MS);

  // One read of the links and the routing table per scrape, shared by their metrics: every
  // collect() of one scrape runs in the same synchronous pass.
  let snapshot: { links: Array<[LinkInfo, LinkCounters]>; routing: RoutingCounts } | undefined;
  const current = () => {
    if (snapshot === undefined) {
      snapshot = { links: source.links(), routing: source.routing() };
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };

  const counter = (name: string, help: string, labelNames: string[], fill: Fill) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill((labels, value) => this.inc(labels, value));
      },
    });
  const gauge = (name: string, help: string, labelNames: string[], fill: Fill) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill((labels, value) => this.set(labels, value));
      },
    });

  // ---- links ----
  const linkLabels = ['link', 'direction', 'peer'];
  const eachLink = (value: (info: LinkInfo, c: LinkCounters) => number | undefined): Fill => {
    return (put) => {
      for (const [info, c] of current().links) {
        const v = value(info, c);
        if (v !== undefined) put(linkLabelsOf(info), v);
      }
    };
  };
  gauge(
    'skiff_link_up',
    'Whether the link is up (1) or not (0).',
    linkLabels,
    eachLink((info) => (info.state === 'up' ? 1 : 0)),
  );
  gauge(
    'skiff_link_rtt_seconds',
    'Round-trip time of the last PING on the link.',
    linkLabels,
    eachLink((info) => (info.rttMs === undefined ? undefined : info.rttMs / 1000)),
  );
  gauge(
    'skiff_link_streams',
    'Streams open on the link now.',
    linkLabels,
    eachLink((info) => info.streams),
  );
  counter(
    'skiff_link_sent_bytes_total',
    'Link protocol bytes (frame headers and payloads, no WebSocket or TLS framing) sent.',
    linkLabels,
    eachLink((_, c) => c.sentBytes),
  );
  counter(
    'skiff_link_received_bytes_total',
    'Link protocol bytes (frame headers and payloads, no WebSocket or TLS framing) received.',
    linkLabels,
    eachLink((_, c) => c.receivedBytes),
  );
  counter(
    'skiff_link_sent_frames_total',
    'Frames sent on the link, DATA and control alike.',
    linkLabels,
    eachLink((_, c) => c.sentFrames),
  );
  counter(
    'skiff_link_received_frames_total',
    'Frames received on the link, DATA and control alike.',
    linkLabels,
    eachLink((_, c) => c.receivedFrames),
  );
  counter(
    'skiff_link_reconnects_total',
    'Times the link came up again after its first connection since the router started.',
    linkLabels,
    eachLink((_, c) => Math.max(0, c.ups - 1)),
  );
  gauge(
    'skiff_link_last_error_info',
    'The class of the last error of the link (label reason; skiff link status has its text); absent when it has none.',
    [...linkLabels, 'reason'],
    (put) => {
      for (const [info] of current().links) {
        if (info.lastError === undefined) continue;
        put({ ...linkLabelsOf(info), reason: linkErrorReason(info.lastError) }, 1);
      }
    },
  );

  // ---- addresses ----
  const book = source.addresses;
  counter(
    'skiff_address_streams_opened_total',
    'Streams of the address by how their opening ended, at each side this site played.',
    ['address', 'side', 'outcome'],
    (put) => {
      for (const stats of book.entries()) {
        for (const side of SIDES) {
          const end = stats[side];
          if (!end.used) continue;
          OUTCOMES.forEach((outcome, i) => {
            put({ address: stats.address, side, outcome }, end.opened[i]!);
          });
        }
      }
    },
  );
  gauge(
    'skiff_address_streams_open',
    'Streams of the address begun and not finished (opening or open).',
    ['address', 'side'],
    (put) => {
      for (const stats of book.entries()) {
        for (const side of SIDES) {
          if (stats[side].used) put({ address: stats.address, side }, stats[side].open);
        }
      }
    },
  );
  const bytes = (field: 'receivedBytes' | 'sentBytes'): Fill => {
    return (put) => {
      for (const stats of book.entries()) {
        for (const side of ['listener', 'connector'] as const) {
          if (stats[side].used) put({ address: stats.address, side }, stats[side][field]);
        }
      }
    };
  };
  counter(
    'skiff_address_received_bytes_total',
    'TCP payload bytes read from the sockets of the address at this site: its clients (side listener) or its target (side connector).',
    ['address', 'side'],
    bytes('receivedBytes'),
  );
  counter(
    'skiff_address_sent_bytes_total',
    'TCP payload bytes written to the sockets of the address at this site: its clients (side listener) or its target (side connector).',
    ['address', 'side'],
    bytes('sentBytes'),
  );
  const openTime = new Histogram({
    name: 'skiff_address_open_duration_seconds',
    help: 'Time a stream took to open: from the client connecting to the far end accepting (side listener), or the dial of the target (side connector).',
    labelNames: ['address', 'side'],
    buckets: OPEN_BUCKETS,
    registers: [registry],
  });
  book.onOpenTime = (address: string, side: Side, seconds: number) =>
    openTime.observe({ address, side }, seconds);
  book.onPrune = (address: string) => {
    for (const side of SIDES) openTime.remove({ address, side });
  };
  counter(
    'skiff_connector_dial_failures_total',
    'Dials of the target of the connector that failed (refused, timed out, unreachable).',
    ['address'],
    (put) => {
      for (const address of source.connectorAddresses()) {
        put({ address }, book.get(address).dialFailures);
      }
    },
  );

  // ---- routing ----
  const routing = (value: (r: RoutingCounts) => number): Fill => {
    return (put) => put({}, value(current().routing));
  };
  gauge(
    'skiff_routing_sites_known',
    'Sites whose advert this site holds, itself included, reachable or not.',
    [],
    routing((r) => r.sitesKnown),
  );
  gauge(
    'skiff_routing_sites_reachable',
    'Sites a path leads to, this one included.',
    [],
    routing((r) => r.sitesReachable),
  );
  gauge(
    'skiff_routing_addresses',
    'Addresses some reachable site serves.',
    [],
    routing((r) => r.addresses),
  );
  counter(
    'skiff_routing_adverts_sent_total',
    'Adverts sent to neighbours, each copy counted.',
    [],
    routing((r) => r.advertsSent),
  );
  counter(
    'skiff_routing_adverts_received_total',
    'Adverts received from neighbours, by what became of them (news, old, refused, own).',
    ['result'],
    (put) => {
      const received = current().routing.advertsReceived;
      for (const result of ADVERT_RESULTS) put({ result }, received[result]);
    },
  );
  counter(
    'skiff_routing_route_changes_total',
    'Changes of the reachable sites or of which sites serve an address (the first is at the start).',
    [],
    routing((r) => r.routeChanges),
  );

  // ---- the router ----
  gauge(
    'skiff_router_buffered_bytes',
    'Bytes the router holds for streams now: received and not yet consumed, or queued to send.',
    [],
    (put) => put({}, source.buffered().current),
  );
  gauge(
    'skiff_router_buffered_peak_bytes',
    'The most bytes the router held for streams at once since it started.',
    [],
    (put) => put({}, source.buffered().peak),
  );
  gauge(
    'skiff_router_streams_open',
    'Streams the router carries now, every address and side.',
    [],
    (put) => put({}, source.streams().active),
  );
  counter(
    'skiff_router_streams_total',
    'Streams the router carried since it started, every address and side.',
    [],
    (put) => put({}, source.streams().total),
  );
  counter(
    'skiff_admin_requests_total',
    'Admin API calls by method and gRPC status.',
    ['method', 'code'],
    (put) => {
      for (const { method, code, count } of source.adminCalls.entries())
        put({ method, code }, count);
    },
  );
  new Gauge({
    name: 'skiff_build_info',
    help: 'The running skiff version (value 1).',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version: VERSION }, 1);

  return {
    registry,
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
    close() {
      book.onOpenTime = undefined;
      book.onPrune = undefined;
    },
  };
}

function linkLabelsOf(info: LinkInfo): Labels {
  return { link: info.name, direction: info.direction, peer: info.peerSiteName };
}
