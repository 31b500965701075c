import type { RecordKind, StateStore } from '../../src/state/store.js';

export interface MemoryStoreOptions {
  /** Every put waits this long first, so concurrent callers really interleave. */
  putDelayMs?: number;
  /** Return an error to make that put fail (a full disk, a lost API server). */
  failPut?: (kind: RecordKind, name: string) => Error | undefined;
}

/**
 * A StateStore in a Map, for unit tests. Values are copied in and out through JSON, as
 * the file store does, so a caller mutating an object it put or got changes nothing.
 * `events` lists every completed write in order, for tests about what was durable when.
 */
export class MemoryStore implements StateStore {
  readonly records = new Map<string, string>();
  readonly secrets = new Map<string, string>();
  readonly events: string[] = [];

  constructor(private readonly opts: MemoryStoreOptions = {}) {}

  async get<T>(kind: RecordKind, name: string): Promise<T | undefined> {
    const text = this.records.get(`${kind}/${name}`);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async list<T>(kind: RecordKind): Promise<T[]> {
    return [...this.records.entries()]
      .filter(([key]) => key.startsWith(`${kind}/`))
      .map(([, text]) => JSON.parse(text) as T);
  }

  async put<T>(kind: RecordKind, name: string, value: T): Promise<void> {
    if (this.opts.putDelayMs) await new Promise((r) => setTimeout(r, this.opts.putDelayMs));
    const err = this.opts.failPut?.(kind, name);
    if (err) throw err;
    this.records.set(`${kind}/${name}`, JSON.stringify(value));
    this.events.push(`put ${kind}/${name}`);
  }

  async delete(kind: RecordKind, name: string): Promise<boolean> {
    this.events.push(`delete ${kind}/${name}`);
    return this.records.delete(`${kind}/${name}`);
  }

  async getSecret(name: string): Promise<string | undefined> {
    return this.secrets.get(name);
  }

  async putSecret(name: string, pem: string): Promise<void> {
    this.secrets.set(name, pem);
  }

  async deleteSecret(name: string): Promise<boolean> {
    return this.secrets.delete(name);
  }
}
