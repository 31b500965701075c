import type { ConnectorInfo } from '../admin/api.js';
import type { StateStore } from '../state/store.js';
import type { ConnectorRecord } from './records.js';

/**
 * The site's connectors: address -> target. Kept in the store so they survive restarts;
 * `onChange` lets the router re-advertise its addresses to its peers.
 */
export class Connectors {
  private readonly byAddress = new Map<string, ConnectorRecord>();
  private readonly active = new Map<string, number>();

  constructor(
    private readonly store: StateStore,
    private readonly onChange: () => void,
  ) {}

  async load(): Promise<void> {
    for (const rec of await this.store.list('connector')) {
      this.byAddress.set(rec.address, rec);
    }
  }

  get(address: string): ConnectorRecord | undefined {
    return this.byAddress.get(address);
  }

  addresses(): string[] {
    return [...this.byAddress.keys()];
  }

  /** Creates or retargets the connector for an address. */
  async expose(rec: ConnectorRecord): Promise<ConnectorInfo> {
    await this.store.put('connector', rec.address, rec);
    this.byAddress.set(rec.address, rec);
    this.onChange();
    return this.info(rec);
  }

  /** Returns false if there was no connector for the address. */
  async unexpose(address: string): Promise<boolean> {
    if (!this.byAddress.has(address)) return false;
    await this.store.delete('connector', address);
    this.byAddress.delete(address);
    this.onChange();
    return true;
  }

  /** Counts a stream delivered to the address's target; call the result when it ends. */
  track(address: string): () => void {
    this.active.set(address, (this.active.get(address) ?? 0) + 1);
    return () => this.active.set(address, (this.active.get(address) ?? 1) - 1);
  }

  list(): ConnectorInfo[] {
    return [...this.byAddress.values()].map((rec) => this.info(rec));
  }

  private info(rec: ConnectorRecord): ConnectorInfo {
    return { ...rec, activeStreams: this.active.get(rec.address) ?? 0 };
  }
}
