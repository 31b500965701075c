import { mkdir, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import { TEMP_FILE, writeFileAtomic } from './atomic-file.js';
import {
  checkedKey,
  checkedRecord,
  checkPut,
  checkPutKey,
  corrupt,
  keyExists,
  readEach,
} from './checked.js';
import { RECORD_KINDS, type RecordTypes } from './schema.js';
import { type RecordKind, StateProblems, type StateStore } from './store.js';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The local platform's state: `site.json` at the top, one JSON file per record in
 * `<kind>s/`, private keys in `secrets/`. Everything is mode 0600 in a 0700 directory.
 */
export class FileStore implements StateStore {
  readonly problems = new StateProblems();

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

  async get<K extends RecordKind>(kind: K, name: string): Promise<RecordTypes[K] | undefined> {
    const path = this.file(kind, name);
    const todo = todoFor(kind);
    let text: string | undefined;
    try {
      text = await readIfExists(path);
    } catch (err) {
      throw corrupt(this.problems, kind, name, path, `cannot be read (${describe(err)})`, todo);
    }
    if (text === undefined) {
      this.problems.clear(path);
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw corrupt(this.problems, kind, name, path, `is not valid JSON (${describe(err)})`, todo);
    }
    return checkedRecord(this.problems, kind, name, path, value, todo);
  }

  async list<K extends RecordKind>(kind: K): Promise<RecordTypes[K][]> {
    if (kind === 'site') return readEach(['site'], (name) => this.get(kind, name));
    let entries: string[];
    try {
      entries = await readdir(join(this.dir, `${kind}s`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const names = entries
      .sort()
      .filter((entry) => entry.endsWith('.json') && !entry.startsWith('.'))
      .map((entry) => entry.slice(0, -5))
      .filter((name) => namePattern.test(name));
    return readEach(names, (name) => this.get(kind, name));
  }

  async put<K extends RecordKind>(kind: K, name: string, value: RecordTypes[K]): Promise<void> {
    const path = this.file(kind, name);
    checkPut(kind, name, value);
    if (kind !== 'site') await mkdir(join(this.dir, `${kind}s`), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`).catch((err) => {
      throw unwritable(path, err);
    });
    this.problems.clear(path);
  }

  async delete(kind: RecordKind, name: string): Promise<boolean> {
    const path = this.file(kind, name);
    const removed = await removeIfExists(path);
    this.problems.clear(path);
    return removed;
  }

  private secretFile(name: string): string {
    checkName(name);
    return join(this.dir, 'secrets', `${name}.pem`);
  }

  async getSecret(name: string): Promise<string | undefined> {
    const path = this.secretFile(name);
    const todo = 'restore it from a backup';
    let pem: string | undefined;
    try {
      pem = await readIfExists(path);
    } catch (err) {
      throw corrupt(this.problems, 'key', name, path, `cannot be read (${describe(err)})`, todo);
    }
    if (pem === undefined) return undefined;
    return checkedKey(this.problems, name, path, pem, todo);
  }

  async putSecret(name: string, pem: string, opts: { replace?: boolean } = {}): Promise<void> {
    const path = this.secretFile(name);
    checkPutKey(name, pem);
    await mkdir(join(this.dir, 'secrets'), { recursive: true, mode: 0o700 });
    try {
      await writeFileAtomic(path, pem, { exclusive: opts.replace !== true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw keyExists(name, path);
      throw unwritable(path, err);
    }
    this.problems.clear(path);
  }

  async hasSecret(name: string): Promise<boolean> {
    return (await stat(this.secretFile(name)).catch(() => undefined)) !== undefined;
  }

  locate(kind: RecordKind | 'key', name: string): string {
    return kind === 'key' ? this.secretFile(name) : this.file(kind, name);
  }

  async deleteSecret(name: string): Promise<boolean> {
    const path = this.secretFile(name);
    const removed = await removeIfExists(path);
    this.problems.clear(path);
    return removed;
  }

  /**
   * The top-level entries of the state dir that this store writes and that exist now:
   * site records, the record and key directories, temporaries of writes cut short.
   */
  async ownEntries(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const dirs = new Set([
      'secrets',
      ...RECORD_KINDS.filter((k) => k !== 'site').map((k) => `${k}s`),
    ]);
    return entries.filter((e) => dirs.has(e) || e === 'site.json' || TEMP_FILE.test(e)).sort();
  }

  /**
   * Removes all of it (`site delete`), site.json first so that a removal cut short leaves
   * no site a router would start; files the store did not write stay.
   */
  async removeAll(): Promise<void> {
    const entries = await this.ownEntries();
    const order = [
      ...entries.filter((e) => e === 'site.json'),
      ...entries.filter((e) => e !== 'site.json'),
    ];
    for (const entry of order) await rm(join(this.dir, entry), { recursive: true, force: true });
  }
}

/** What to do about a bad record of a kind, for the one line that reports it. */
export function todoFor(kind: RecordKind): string {
  switch (kind) {
    case 'site':
      return "restore it from a backup: it is the site's identity (do not recreate the site over existing keys)";
    case 'token':
      return 'remove it; the token can no longer be redeemed, create a new one with skiff token create';
    case 'grant':
      return 'remove it to revoke that incoming link, or restore it from a backup; the link stays down meanwhile';
    case 'link':
      return 'restore it from a backup, or remove it and the link key and link again with a new token';
    case 'connector':
      return 'fix or remove it and expose the address again with skiff expose';
    case 'listener':
      return 'fix or remove it and create the listener again with skiff listener create';
  }
}

/** A failed write in words: the atomic write left the old contents (or nothing) in place. */
function unwritable(path: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SkiffError(
      ErrorCode.STATE_UNWRITABLE,
      `cannot write ${path}: the disk of the state dir is full; nothing was changed, free some space and try again`,
      { cause: err },
    );
  }
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new SkiffError(
      ErrorCode.STATE_UNWRITABLE,
      `cannot write ${path} (${describe(err)}); nothing was changed, make the state dir writable and try again`,
      { cause: err },
    );
  }
  return err;
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
