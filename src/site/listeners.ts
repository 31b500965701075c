import type { Socket } from 'node:net';
import type { EndpointRequest, EndpointUpdate, ListenerInfo } from '../admin/api.js';
import { describe, ErrorCode, isSkiffError, SkiffError } from '../errors.js';
import { Backoff } from '../link/backoff.js';
import type { Logger } from '../log.js';
import type { StateStore } from '../state/store.js';
import { TcpListener } from '../tcp/listener.js';
import type { Change } from './connectors.js';
import { hostPort, type ListenerRecord } from './records.js';

interface Entry {
  rec: ListenerRecord;
  tcp?: TcpListener;
  /** Why the last bind failed, while a retry is scheduled. */
  error?: string;
  retry?: NodeJS.Timeout;
  backoff: Backoff;
  /** Bumped when the record changes or goes: a bind started before then is undone. */
  generation: number;
  active: number;
}

export interface ListenersDeps {
  store: StateStore;
  logger: Logger;
  /** The rebind delays: the link reconnect settings (docs/decisions/0013). */
  backoff: { initialMs: number; maxMs: number };
  onConnection(address: string, socket: Socket): void;
  /** Whether some reachable site (this one included) serves the address now. */
  served(address: string): boolean;
}

/**
 * The site's listeners: a local port per address. A port in use (at start, at create) is
 * not a refusal: the listener is kept, shows `retrying` with the error and binds by itself
 * once the port frees. Any other bind failure at create (an address not on this host, a
 * privileged port) is refused with nothing saved. A move to another port binds the new one
 * first, so a port in use leaves the listener where it was. A record someone else saved
 * (apply()) goes through the same steps, minus the save.
 */
export class Listeners {
  private readonly byAddress = new Map<string, Entry>();
  /** Listeners moved away from: no longer accepting, their clients go on until they close. */
  private readonly retired = new Set<TcpListener>();
  private accepting = true;

  constructor(private readonly deps: ListenersDeps) {}

  async restore(): Promise<void> {
    for (const rec of await this.deps.store.list('listener')) {
      const entry = this.entry(rec);
      this.byAddress.set(rec.address, entry);
      await this.bindOrRetry(entry);
    }
  }

  async create(req: EndpointRequest): Promise<ListenerInfo> {
    const rec: ListenerRecord = { address: req.address, host: req.host, port: req.port };
    const existing = this.byAddress.get(rec.address);
    if (existing) {
      if (!req.replace) {
        throw new SkiffError(
          ErrorCode.ALREADY_EXISTS,
          `a listener for "${rec.address}" already exists on ${hostPort(existing.rec)}; pass --replace to move it, or use skiff listener update`,
        );
      }
      return this.move(existing, rec, this.save);
    }
    const entry = this.entry(rec);
    try {
      entry.tcp = await this.bind(entry, rec);
    } catch (err) {
      if (!isSkiffError(err, ErrorCode.PORT_IN_USE)) throw err;
      entry.error = err.message;
    }
    try {
      await this.deps.store.put('listener', rec.address, rec);
    } catch (err) {
      await entry.tcp?.close();
      throw err;
    }
    this.byAddress.set(rec.address, entry);
    if (entry.error !== undefined) this.scheduleRetry(entry, true);
    return this.info(entry);
  }

  async update(req: EndpointUpdate): Promise<ListenerInfo> {
    const entry = this.byAddress.get(req.address);
    if (!entry) throw notFound(req.address);
    return this.move(
      entry,
      {
        address: req.address,
        host: req.host ?? entry.rec.host,
        port: req.port ?? entry.rec.port,
      },
      this.save,
    );
  }

  async delete(address: string): Promise<void> {
    const entry = this.byAddress.get(address);
    if (!entry) throw notFound(address);
    await this.deps.store.delete('listener', address);
    await this.remove(entry);
  }

  /**
   * Makes the listener of `address` what the store now holds (undefined: none), writing
   * nothing: the record is already saved, by this router or by someone else. It cannot be
   * refused, so a port that will not bind, for whatever reason, is retried until it does.
   */
  async apply(address: string, rec: ListenerRecord | undefined): Promise<Change | undefined> {
    const entry = this.byAddress.get(address);
    if (rec === undefined) {
      if (entry === undefined) return undefined;
      await this.remove(entry);
      return 'deleted';
    }
    const next: ListenerRecord = { address, host: rec.host, port: rec.port };
    if (entry === undefined) {
      const added = this.entry(next);
      this.byAddress.set(address, added);
      if (this.accepting) await this.bindOrRetry(added);
      return 'created';
    }
    if (entry.rec.host === next.host && entry.rec.port === next.port) return undefined;
    try {
      await this.move(entry, next, async () => undefined);
    } catch (err) {
      this.deps.logger.warn(
        { address, host: next.host, port: next.port, err: describe(err) },
        'listener cannot move; retrying on the new port',
      );
      await this.retarget(entry, next);
    }
    return 'changed';
  }

  list(): ListenerInfo[] {
    return [...this.byAddress.values()].map((e) => this.info(e));
  }

  /** Stops accepting clients on every listener (a drain); connected clients go on. */
  stopAccepting(): void {
    this.accepting = false;
    for (const e of this.byAddress.values()) {
      clearTimeout(e.retry);
      e.tcp?.stopAccepting();
    }
  }

  /** Client connections open at every listener. */
  /** Whether the site has a listener for the address. */
  has(address: string): boolean {
    return this.byAddress.has(address);
  }

  get activeClients(): number {
    let n = 0;
    for (const e of this.byAddress.values()) n += e.active;
    return n;
  }

  async close(): Promise<void> {
    this.stopAccepting();
    const all = [...this.byAddress.values()].map((e) => e.tcp).concat([...this.retired]);
    await Promise.all(all.map((tcp) => tcp?.close()));
  }

  private readonly save = (rec: ListenerRecord): Promise<void> =>
    this.deps.store.put('listener', rec.address, rec);

  private async remove(entry: Entry): Promise<void> {
    this.byAddress.delete(entry.rec.address);
    entry.generation++;
    clearTimeout(entry.retry);
    await entry.tcp?.close();
    entry.tcp = undefined;
    this.deps.logger.info({ address: entry.rec.address }, 'listener deleted');
  }

  private entry(rec: ListenerRecord): Entry {
    const { initialMs, maxMs } = this.deps.backoff;
    return { rec, active: 0, generation: 0, backoff: new Backoff(initialMs, maxMs) };
  }

  /**
   * Moves a listener to `next`. A bound listener keeps its port until the new one is bound
   * and saved; one still retrying takes the new record and tries it at once.
   */
  private async move(
    entry: Entry,
    next: ListenerRecord,
    save: (rec: ListenerRecord) => Promise<void>,
  ): Promise<ListenerInfo> {
    const prev = entry.rec;
    if (next.host === prev.host && next.port === prev.port) return this.info(entry);
    const old = entry.tcp;
    const tcp = old ? await this.bindBeside(entry, next, old, next.port === prev.port) : undefined;
    try {
      await save(next);
    } catch (err) {
      await tcp?.close();
      if (old && !old.listening) await old.listen();
      throw err;
    }
    entry.generation++;
    clearTimeout(entry.retry);
    entry.rec = next;
    entry.error = undefined;
    entry.backoff.reset();
    if (old) {
      entry.tcp = tcp;
      old.stopAccepting();
      for (const t of this.retired) if (t.connections.size === 0) this.retired.delete(t);
      if (old.connections.size > 0) this.retired.add(old);
    } else {
      await this.bindOrRetry(entry);
    }
    this.deps.logger.info(
      { address: next.address, from: hostPort(prev), to: hostPort(next) },
      'listener moved',
    );
    return this.info(entry);
  }

  /**
   * Binds `next` while `old` still holds its port. On the same port (a new host) the two
   * may conflict, so the old one lets go first and takes the port back if the new bind fails.
   */
  private async bindBeside(
    entry: Entry,
    next: ListenerRecord,
    old: TcpListener,
    samePort: boolean,
  ): Promise<TcpListener> {
    try {
      return await this.bind(entry, next);
    } catch (err) {
      if (!samePort || !isSkiffError(err, ErrorCode.PORT_IN_USE)) throw err;
    }
    old.stopAccepting();
    try {
      return await this.bind(entry, next);
    } catch (err) {
      await old.listen();
      throw err;
    }
  }

  /** Gives up the current port (its clients go on) and binds `next`, retrying until it can. */
  private async retarget(entry: Entry, next: ListenerRecord): Promise<void> {
    entry.generation++;
    clearTimeout(entry.retry);
    const old = entry.tcp;
    entry.tcp = undefined;
    if (old) {
      old.stopAccepting();
      if (old.connections.size > 0) this.retired.add(old);
      else await old.close();
    }
    entry.rec = next;
    entry.error = undefined;
    entry.backoff.reset();
    if (this.accepting) await this.bindOrRetry(entry);
  }

  private async bindOrRetry(entry: Entry): Promise<void> {
    const generation = entry.generation;
    try {
      const tcp = await this.bind(entry, entry.rec);
      if (generation !== entry.generation || !this.accepting) {
        await tcp.close();
        return;
      }
      entry.tcp = tcp;
      if (entry.error !== undefined) {
        this.deps.logger.info({ address: entry.rec.address }, 'listener bound after retrying');
      }
      entry.error = undefined;
      entry.backoff.reset();
    } catch (err) {
      if (generation !== entry.generation) return;
      const first = entry.error === undefined;
      entry.error = isSkiffError(err) ? err.message : describe(err);
      this.scheduleRetry(entry, first);
    }
  }

  /** Schedules the next bind; the failure is logged once per outage, not once per try. */
  private scheduleRetry(entry: Entry, first: boolean): void {
    const { address, host, port } = entry.rec;
    const delayMs = entry.backoff.delay();
    if (first) {
      this.deps.logger.warn(
        { address, host, port, err: entry.error, retryMs: delayMs },
        'listener cannot bind; retrying',
      );
    }
    if (!this.accepting) return;
    entry.retry = setTimeout(() => {
      entry.retry = undefined;
      void this.bindOrRetry(entry);
    }, delayMs);
    entry.retry.unref();
  }

  private async bind(entry: Entry, rec: ListenerRecord): Promise<TcpListener> {
    const { address, host, port } = rec;
    const tcp = new TcpListener(host, port, (socket) => {
      entry.active++;
      socket.once('close', () => entry.active--);
      this.deps.onConnection(address, socket);
    });
    await tcp.listen();
    this.deps.logger.info({ address, host, port }, 'listener bound');
    return tcp;
  }

  private info(e: Entry): ListenerInfo {
    const base = { ...e.rec, activeStreams: e.active };
    if (e.error !== undefined) return { ...base, state: 'retrying', error: e.error };
    if (!this.deps.served(e.rec.address)) {
      return {
        ...base,
        state: 'no-route',
        error: `no reachable site has a connector for "${e.rec.address}"; expose it at the site that runs the service`,
      };
    }
    return { ...base, state: 'bound' };
  }
}

function notFound(address: string): SkiffError {
  return new SkiffError(
    ErrorCode.NOT_FOUND,
    `no listener for "${address}"; see skiff listener list`,
  );
}
