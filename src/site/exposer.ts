import type { Socket } from 'node:net';
import type { StateProblemInfo } from '../admin/api.js';
import type { ServedAddress } from '../routing/routes.js';

/** What an exposer sees of its router. */
export interface ExposerHost {
  /** Every address a reachable site serves now (this one included), with its ports. */
  served(): ServedAddress[];
  /** Calls `watcher` after every routing change; returns the unsubscribe. */
  onRoutes(watcher: () => void): () => void;
  /** A client's connection for the address: it becomes a stream as a listener's does. */
  connectClient(address: string, socket: Socket): void;
}

/**
 * How apps at a site reach the network's addresses beyond the listener records: the
 * platform's third seam (decision 0008). The local platform has none (a listener per
 * address, made by hand); the kubernetes one makes a proxy Service per address served in
 * the network, and listens on its ports (kube/proxy-services.ts, decision 0023).
 */
export interface Exposer {
  /** Once the router runs; rejects when it cannot follow at all (FORBIDDEN...). */
  start(host: ExposerHost): Promise<void>;
  /** A drain: no new client connections; open ones go on. */
  stopAccepting(): void;
  /** Client connections open now (a drain waits for them). */
  readonly activeClients: number;
  /** What it could not do and why, for status (a name clash, a refusal). */
  problems(): StateProblemInfo[];
  /** Stops following and listening; leaves what it made in place for the next start. */
  close(): Promise<void>;
}
