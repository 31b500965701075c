import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import type { RecordKind, StateStore } from './store.js';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The local platform's state: `site.json` at the top, one JSON file per record in
 * `<kind>s/`, private keys in `secrets/`. Everything is mode 0600 in a 0700 directory.
 */
export class FileStore implements StateStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(kind: RecordKind, name: string): string {
    checkName(name);
    return kind === 'site'
      ? join(this.dir, `${name}.json`)
      : join(this.dir, `${kind}s`, `${name}.json`);
  }

  async get<T>(kind: RecordKind, name: string): Promise<T | undefined> {
    const path = this.file(kind, name);
    const text = await readIfExists(path);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new SkiffError(
        ErrorCode.STATE_CORRUPT,
        `${path} is not valid JSON (${describe(err)}); restore it or remove it`,
      );
    }
  }

  async list<T>(kind: RecordKind): Promise<T[]> {
    if (kind === 'site') {
      const site = await this.get<T>('site', 'site');
      return site === undefined ? [] : [site];
    }
    let entries: string[];
    try {
      entries = await readdir(join(this.dir, `${kind}s`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: T[] = [];
    for (const entry of entries.sort()) {
      if (!entry.endsWith('.json') || entry.startsWith('.')) continue;
      const value = await this.get<T>(kind, entry.slice(0, -5));
      if (value !== undefined) out.push(value);
    }
    return out;
  }

  async put<T>(kind: RecordKind, name: string, value: T): Promise<void> {
    const path = this.file(kind, name);
    if (kind !== 'site') await mkdir(join(this.dir, `${kind}s`), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
  }

  async delete(kind: RecordKind, name: string): Promise<boolean> {
    return removeIfExists(this.file(kind, name));
  }

  private secretFile(name: string): string {
    checkName(name);
    return join(this.dir, 'secrets', `${name}.pem`);
  }

  getSecret(name: string): Promise<string | undefined> {
    return readIfExists(this.secretFile(name));
  }

  async putSecret(name: string, pem: string): Promise<void> {
    await mkdir(join(this.dir, 'secrets'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.secretFile(name), pem);
  }

  deleteSecret(name: string): Promise<boolean> {
    return removeIfExists(this.secretFile(name));
  }
}

function checkName(name: string): void {
  if (!namePattern.test(name)) {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `"${name}" is not a valid record name`);
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function removeIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
