import {
  checkedKey,
  checkedRecord,
  checkPut,
  checkPutKey,
  keyExists,
} from '../../src/state/checked.js';
import type { RecordTypes } from '../../src/state/schema.js';
import { type RecordKind, StateProblems, type StateStore } from '../../src/state/store.js';

export interface MemoryStoreOptions {
  /** Every put waits this long first, so concurrent callers really interleave. */
  putDelayMs?: number;
  /** Return an error to make that put fail (a full disk, a lost API server). */
  failPut?: (kind: RecordKind, name: string) => Error | undefined;
}

/**
 * A StateStore in a Map, for unit tests. Values are copied in and out through JSON, as
 * the file store does, so a caller mutating an object it put or got changes nothing; they
 * pass the same schemas (state/checked.ts) as in the real stores.
 * `events` lists every completed write in order, for tests about what was durable when.
 */
export class MemoryStore implements StateStore {
  readonly records = new Map<string, string>();
  readonly secrets = new Map<string, string>();
  readonly events: string[] = [];
  readonly problems = new StateProblems();

  constructor(private readonly opts: MemoryStoreOptions = {}) {}

  async get<K extends RecordKind>(kind: K, name: string): Promise<RecordTypes[K] | undefined> {
    const text = this.records.get(`${kind}/${name}`);
    if (text === undefined) return undefined;
    return checkedRecord(this.problems, kind, name, `${kind}/${name}`, JSON.parse(text), 'fix it');
  }

  async list<K extends RecordKind>(kind: K): Promise<RecordTypes[K][]> {
    return [...this.records.keys()]
      .filter((key) => key.startsWith(`${kind}/`))
      .map((key) => JSON.parse(this.records.get(key)!) as RecordTypes[K]);
  }

  async put<K extends RecordKind>(kind: K, name: string, value: RecordTypes[K]): Promise<void> {
    checkPut(kind, name, value);
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
    const pem = this.secrets.get(name);
    return pem === undefined
      ? undefined
      : checkedKey(this.problems, name, `key/${name}`, pem, 'fix it');
  }

  async putSecret(name: string, pem: string, opts: { replace?: boolean } = {}): Promise<void> {
    checkPutKey(name, pem);
    if (this.secrets.has(name) && opts.replace !== true) throw keyExists(name, `key/${name}`);
    this.secrets.set(name, pem);
  }

  async deleteSecret(name: string): Promise<boolean> {
    return this.secrets.delete(name);
  }

  async hasSecret(name: string): Promise<boolean> {
    return this.secrets.has(name);
  }

  locate(kind: RecordKind | 'key', name: string): string {
    return `${kind}/${name}`;
  }
}
