/**
 * What both stores do with a value on its way in or out: run it through its schema,
 * report a bad one in the store's problems and refuse it with a message naming where it
 * is and what to do.
 */
import { ErrorCode, SkiffError } from '../errors.js';
import { keyProblem, type RecordTypes, recordProblem } from './schema.js';
import type { RecordKind, StateProblems } from './store.js';

/** Raised for a record or key that cannot be used, after it has been reported. */
export function corrupt(
  problems: StateProblems,
  kind: RecordKind | 'key',
  name: string,
  where: string,
  problem: string,
  todo: string,
): SkiffError {
  const message = `${where}: ${problem}; ${todo}`;
  problems.report({ kind, name, where, problem: message });
  return new SkiffError(ErrorCode.STATE_CORRUPT, message);
}

export function checkedRecord<K extends RecordKind>(
  problems: StateProblems,
  kind: K,
  name: string,
  where: string,
  value: unknown,
  todo: string,
): RecordTypes[K] {
  const problem = recordProblem(kind, name, value);
  if (problem !== undefined) throw corrupt(problems, kind, name, where, problem, todo);
  problems.clear(where);
  return value as RecordTypes[K];
}

/** Before a write: a caller never saves what a read would refuse. */
export function checkPut(kind: RecordKind, name: string, value: unknown): void {
  const problem = recordProblem(kind, name, value);
  if (problem !== undefined) {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `cannot save ${kind} "${name}": ${problem}`);
  }
}

export function checkedKey(
  problems: StateProblems,
  name: string,
  where: string,
  pem: string,
  todo: string,
): string {
  const problem = keyProblem(pem);
  if (problem !== undefined) throw corrupt(problems, 'key', name, where, problem, todo);
  problems.clear(where);
  return pem;
}

export function checkPutKey(name: string, pem: string): void {
  const problem = keyProblem(pem);
  if (problem !== undefined) {
    throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `cannot save key "${name}": ${problem}`);
  }
}

export function keyExists(name: string, where: string): SkiffError {
  return new SkiffError(
    ErrorCode.ALREADY_EXISTS,
    `key "${name}" already exists (${where}); keys are never overwritten: move it away first if it is no longer needed`,
  );
}

/** Reads each record of a list in turn; a bad one (already reported) is skipped. */
export async function readEach<N, T>(
  items: readonly N[],
  read: (item: N) => Promise<T | undefined>,
): Promise<T[]> {
  const out: T[] = [];
  for (const item of items) {
    try {
      const value = await read(item);
      if (value !== undefined) out.push(value);
    } catch (err) {
      if (!(err instanceof SkiffError && err.code === ErrorCode.STATE_CORRUPT)) throw err;
    }
  }
  return out;
}
