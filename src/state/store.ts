/**
 * Where a site keeps what it must remember across restarts. The local platform keeps it
 * in files under the state dir (state/file-store.ts); the kubernetes platform will keep
 * records in ConfigMaps and secrets in Secrets behind this same interface.
 *
 * Every write is atomic and durable: once put() resolves, a crash cannot lose or tear it.
 */
export type RecordKind = 'site' | 'token' | 'link' | 'grant' | 'connector' | 'listener';

export interface StateStore {
  get<T>(kind: RecordKind, name: string): Promise<T | undefined>;
  list<T>(kind: RecordKind): Promise<T[]>;
  put<T>(kind: RecordKind, name: string, value: T): Promise<void>;
  delete(kind: RecordKind, name: string): Promise<boolean>;
  /** Secrets are PEM text: private keys. Kept apart so they never land in a ConfigMap. */
  getSecret(name: string): Promise<string | undefined>;
  putSecret(name: string, pem: string): Promise<void>;
  deleteSecret(name: string): Promise<boolean>;
}
