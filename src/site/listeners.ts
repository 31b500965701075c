import type { Socket } from 'node:net';
import type { ListenerInfo } from '../admin/api.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import type { StateStore } from '../state/store.js';
import { TcpListener } from '../tcp/listener.js';
import type { ListenerRecord } from './records.js';

interface Entry {
  rec: ListenerRecord;
  tcp?: TcpListener;
  error?: string;
  active: number;
}

/**
 * The site's listeners: a local port per address. A new listener is bound before it is
 * saved, so a port in use is refused with nothing changed; restored listeners that cannot
 * bind are kept and reported with their error.
 */
export class Listeners {
  private readonly byAddress = new Map<string, Entry>();

  constructor(
    private readonly store: StateStore,
    private readonly logger: Logger,
    private readonly onConnection: (address: string, socket: Socket) => void,
  ) {}

  async restore(): Promise<void> {
    for (const rec of await this.store.list('listener')) {
      const entry: Entry = { rec, active: 0 };
      this.byAddress.set(rec.address, entry);
      try {
        await this.bind(entry);
      } catch (err) {
        entry.error = describe(err);
        this.logger.error({ address: rec.address, err: entry.error }, 'listener cannot bind');
      }
    }
  }

  async create(rec: ListenerRecord): Promise<ListenerInfo> {
    if (this.byAddress.has(rec.address)) {
      const cur = this.byAddress.get(rec.address)!.rec;
      throw new SkiffError(
        ErrorCode.ALREADY_EXISTS,
        `a listener for "${rec.address}" already exists on ${cur.host}:${cur.port}; delete it first`,
      );
    }
    const entry: Entry = { rec, active: 0 };
    await this.bind(entry);
    try {
      await this.store.put('listener', rec.address, rec);
    } catch (err) {
      await entry.tcp?.close();
      throw err;
    }
    this.byAddress.set(rec.address, entry);
    return this.info(entry);
  }

  async delete(address: string): Promise<void> {
    const entry = this.byAddress.get(address);
    if (!entry) {
      throw new SkiffError(
        ErrorCode.NOT_FOUND,
        `no listener for "${address}"; see skiff listener list`,
      );
    }
    await this.store.delete('listener', address);
    this.byAddress.delete(address);
    await entry.tcp?.close();
    this.logger.info({ address }, 'listener deleted');
  }

  list(): ListenerInfo[] {
    return [...this.byAddress.values()].map((e) => this.info(e));
  }

  /** Stops accepting clients on every listener (a drain); connected clients go on. */
  stopAccepting(): void {
    for (const e of this.byAddress.values()) e.tcp?.stopAccepting();
  }

  /** Client connections open at every listener. */
  get activeClients(): number {
    let n = 0;
    for (const e of this.byAddress.values()) n += e.active;
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.byAddress.values()].map((e) => e.tcp?.close()));
  }

  private async bind(entry: Entry): Promise<void> {
    const { address, host, port } = entry.rec;
    const tcp = new TcpListener(host, port, (socket) => {
      entry.active++;
      socket.once('close', () => entry.active--);
      this.onConnection(address, socket);
    });
    await tcp.listen();
    entry.tcp = tcp;
    entry.error = undefined;
    this.logger.info({ address, host, port }, 'listener bound');
  }

  private info(e: Entry): ListenerInfo {
    return {
      ...e.rec,
      state: e.error === undefined ? 'bound' : 'error',
      ...(e.error === undefined ? {} : { error: e.error }),
      activeStreams: e.active,
    };
  }
}
