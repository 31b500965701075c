import type { RecordTypes } from './schema.js';

/**
 * Where a site keeps what it must remember across restarts. The local platform keeps it
 * in files under the state dir (state/file-store.ts); the kubernetes platform keeps
 * records in ConfigMaps and keys in Secrets (state/kube-store.ts), behind this interface.
 *
 * Every write is atomic and durable: once put() resolves, a crash cannot lose or tear it.
 * Every record read or written passes its kind's schema (state/schema.ts): get() refuses a
 * bad record with STATE_CORRUPT; list() skips it and reports it in `problems`.
 */
export type RecordKind = keyof RecordTypes;

/** A record or key the store could not use: where it is, and what is wrong and what to do. */
export interface StateProblem {
  kind: RecordKind | 'key';
  name: string;
  /** The file, or the Kubernetes object. */
  where: string;
  problem: string;
}

export interface StateStore {
  get<K extends RecordKind>(kind: K, name: string): Promise<RecordTypes[K] | undefined>;
  list<K extends RecordKind>(kind: K): Promise<RecordTypes[K][]>;
  put<K extends RecordKind>(kind: K, name: string, value: RecordTypes[K]): Promise<void>;
  delete(kind: RecordKind, name: string): Promise<boolean>;
  /** Private keys as PEM; one that does not parse is refused with STATE_CORRUPT. */
  getSecret(name: string): Promise<string | undefined>;
  /**
   * Keys are never overwritten by accident: a key that exists is refused with
   * ALREADY_EXISTS unless `replace` is given.
   */
  putSecret(name: string, pem: string, opts?: { replace?: boolean }): Promise<void>;
  deleteSecret(name: string): Promise<boolean>;
  /** Whether a key exists, well formed or not. */
  hasSecret(name: string): Promise<boolean>;
  /** Where a record or key lives (a file, a Kubernetes object), for messages. */
  locate(kind: RecordKind | 'key', name: string): string;
  /** Bad records and keys seen by the latest reads, for status and the log. */
  readonly problems: StateProblems;
}

/**
 * The problems a store has seen, by place: reading a place again replaces or clears its
 * entry, so status shows what is wrong now. `onReport` is told of each new one (the log).
 */
export class StateProblems {
  private readonly byWhere = new Map<string, StateProblem>();
  onReport: ((problem: StateProblem) => void) | undefined;

  report(problem: StateProblem): void {
    const old = this.byWhere.get(problem.where);
    this.byWhere.set(problem.where, problem);
    if (old?.problem !== problem.problem) this.onReport?.(problem);
  }

  clear(where: string): void {
    this.byWhere.delete(where);
  }

  list(): StateProblem[] {
    return [...this.byWhere.values()].sort((a, b) => a.where.localeCompare(b.where));
  }
}
