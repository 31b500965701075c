import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';

/** A prom-client default collector: registers its metrics on `registry`. */
type Collector = (registry: Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/**
 * prom-client's default collectors left out: `gc` (nodejs_gc_duration_seconds) needs a `gc`
 * PerformanceObserver, which added ~55 us of CPU to every collection (a scavenge costs
 * 72-77 us without it; docs/performance.md, "Metrics cost"), the one metrics cost that grows
 * with traffic, and it counted only the first collection of each batch Node delivers (11 of
 * 200 scavenges), so its figures were wrong as well as dear.
 */
const LEFT_OUT = new Set(['gc']);

const require = createRequire(import.meta.url);

/**
 * Node's process metrics under prom-client's usual names, but for LEFT_OUT.
 * collectDefaultMetrics cannot leave one out, so each collector in its own list is called
 * by name (prom-client 15 keeps them in lib/metrics/, one file per entry of metricsList).
 */
export function collectProcessMetrics(registry: Registry, lagSampleMs: number): void {
  const { metricsList } = require('prom-client/lib/defaultMetrics') as { metricsList: string[] };
  for (const name of metricsList) {
    if (LEFT_OUT.has(name)) continue;
    const collect = require(`prom-client/lib/metrics/${name}`) as Collector;
    collect(registry, { eventLoopMonitoringPrecision: lagSampleMs });
  }
}
