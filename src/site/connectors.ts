import type { ConnectorInfo, EndpointRequest, EndpointUpdate } from '../admin/api.js';
import { fieldsText, sameTarget } from '../config/targets.js';
import { ErrorCode, SkiffError } from '../errors.js';
import type { StateStore } from '../state/store.js';
import type { ConnectorRecord } from './records.js';

interface Entry {
  rec: ConnectorRecord;
  /** The last dial failure, until a dial of the target works again. */
  failure?: { error: string; at: Date };
}

/** What a change did to a connector or listener, for the log. */
export type Change = 'created' | 'changed' | 'deleted';

/**
 * The site's connectors: address -> target. Kept in the store so they survive restarts;
 * `onChange` (after every change) lets the router re-advertise its addresses and ports to
 * its peers and tell its target resolver. Whether the target
 * answers is learnt from the dials streams make (`dialled`), not probed. Every change,
 * from the admin API or from the store (a record someone else wrote), ends in apply().
 */
export class Connectors {
  private readonly byAddress = new Map<string, Entry>();
  private readonly active = new Map<string, number>();

  constructor(
    private readonly store: StateStore,
    private readonly onChange: () => void,
  ) {}

  async load(): Promise<void> {
    for (const rec of await this.store.list('connector')) {
      this.byAddress.set(rec.address, { rec });
    }
  }

  get(address: string): ConnectorRecord | undefined {
    return this.byAddress.get(address)?.rec;
  }

  addresses(): string[] {
    return [...this.byAddress.keys()];
  }

  /** Address -> the port apps use for it: what the site's advert carries (decision 0023). */
  ports(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [address, { rec }] of this.byAddress) out[address] = [rec.port];
    return out;
  }

  records(): ConnectorRecord[] {
    return [...this.byAddress.values()].map((e) => e.rec);
  }

  /** Creates the connector for an address; an existing one is retargeted only with `replace`. */
  async expose(req: EndpointRequest): Promise<ConnectorInfo> {
    const rec: ConnectorRecord = { address: req.address, host: req.host, port: req.port };
    const existing = this.byAddress.get(rec.address);
    if (existing && !req.replace) {
      throw new SkiffError(
        ErrorCode.ALREADY_EXISTS,
        `"${rec.address}" is already exposed at this site, to ${fieldsText(existing.rec)}; pass --replace to retarget it, or use skiff connector update`,
      );
    }
    return this.save(rec);
  }

  async update(req: EndpointUpdate): Promise<ConnectorInfo> {
    const existing = this.byAddress.get(req.address);
    if (!existing) {
      throw new SkiffError(
        ErrorCode.NOT_FOUND,
        `"${req.address}" is not exposed at this site; see skiff connector list`,
      );
    }
    const port = req.port ?? existing.rec.port;
    // A new host makes it a host:port target; a new port alone keeps the target's kind.
    const rec: ConnectorRecord =
      req.host === undefined
        ? { ...existing.rec, port }
        : { address: req.address, host: req.host, port };
    return this.save(rec);
  }

  /** Returns false if there was no connector for the address. */
  async unexpose(address: string): Promise<boolean> {
    if (!this.byAddress.has(address)) return false;
    await this.store.delete('connector', address);
    this.apply(address, undefined);
    return true;
  }

  /**
   * Makes the connector of `address` what the store now holds (undefined: none), writing
   * nothing: the record is already saved, by this router or by someone else. A record
   * equal to the running connector changes nothing (its last dial failure stays).
   */
  apply(address: string, rec: ConnectorRecord | undefined): Change | undefined {
    const existing = this.byAddress.get(address);
    if (rec === undefined) {
      if (existing === undefined) return undefined;
      this.byAddress.delete(address);
      this.onChange();
      return 'deleted';
    }
    if (existing && sameTarget(existing.rec, rec)) return undefined;
    this.byAddress.set(address, { rec: { ...rec, address } });
    this.onChange();
    return existing === undefined ? 'created' : 'changed';
  }

  /** The outcome of a dial of the address's target: a failure is shown until one works. */
  dialled(address: string, target: ConnectorRecord, error?: string): void {
    const entry = this.byAddress.get(address);
    // A dial of a target the connector has since moved away from says nothing about it.
    if (entry === undefined || !sameTarget(entry.rec, target)) {
      return;
    }
    entry.failure = error === undefined ? undefined : { error, at: new Date() };
  }

  /** Counts a stream delivered to the address's target; call the result when it ends. */
  track(address: string): () => void {
    this.active.set(address, (this.active.get(address) ?? 0) + 1);
    return () => this.active.set(address, (this.active.get(address) ?? 1) - 1);
  }

  list(): ConnectorInfo[] {
    return [...this.byAddress.values()].map((e) => this.info(e));
  }

  private async save(rec: ConnectorRecord): Promise<ConnectorInfo> {
    await this.store.put('connector', rec.address, rec);
    this.apply(rec.address, rec);
    return this.info(this.byAddress.get(rec.address)!);
  }

  private info({ rec, failure }: Entry): ConnectorInfo {
    return {
      ...rec,
      host: rec.host ?? '',
      state: failure ? 'failing' : 'ready',
      ...(failure ? { error: failure.error, errorAt: failure.at.toISOString() } : {}),
      activeStreams: this.active.get(rec.address) ?? 0,
    };
  }
}
