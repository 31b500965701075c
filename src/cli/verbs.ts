/**
 * What every resource's verbs share (link, listener, connector, token): `--ignore-not-found`
 * on deletes, `--replace` on creates, `list [NAME]` picking one item, and the alias that
 * makes `status` a `list`.
 */
import type { Command } from 'commander';
import { ErrorCode, isSkiffError, SkiffError } from '../errors.js';

export interface DeleteFlags {
  ignoreNotFound?: boolean;
}

export interface ReplaceFlags {
  replace?: boolean;
}

/** A group's `list [NAME]` verb, also reachable as `status` (kubectl's get, Skupper's status). */
export function listVerb(group: Command, description: string): Command {
  return group.command('list').alias('status').description(description);
}

/** A group's delete verb, with `--ignore-not-found`. */
export function deleteVerb(group: Command, description: string): Command {
  return withIgnoreNotFound(group.command('delete').description(description));
}

/** `--ignore-not-found`, as kubectl has it, for every command that deletes. */
export function withIgnoreNotFound(command: Command): Command {
  return command.option('--ignore-not-found', 'exit 0 when there is nothing to delete');
}

/**
 * Runs a delete: resolves with its result when something was deleted, or undefined when
 * nothing was there and `--ignore-not-found` was given; without it, NOT_FOUND stays an
 * error (exit 4).
 */
export async function deleting<T>(
  flags: DeleteFlags,
  remove: () => Promise<T>,
): Promise<{ result: T } | undefined> {
  try {
    return { result: await remove() };
  } catch (err) {
    if (flags.ignoreNotFound === true && isSkiffError(err, ErrorCode.NOT_FOUND)) return undefined;
    throw err;
  }
}

/** The item of `items` named `name`, or NOT_FOUND with `missing` as the message. */
export function pickOne<T>(items: readonly T[], matches: (item: T) => boolean, missing: string): T {
  const one = items.find(matches);
  if (one === undefined) throw new SkiffError(ErrorCode.NOT_FOUND, missing);
  return one;
}

/** `--replace` on a create: what exists for the address is replaced instead of refused. */
export function withReplace(command: Command, what: string): Command {
  return command.option('--replace', `replace the ${what} for the address if there is one`);
}

/**
 * Runs a create. Asked without replace first, so the result says truly whether it created
 * (`created`) or, with `--replace`, replaced what was there (`updated`, after the router's
 * ALREADY_EXISTS); without `--replace` that refusal stands (exit 1).
 */
export async function creating<T>(
  flags: ReplaceFlags,
  create: (replace: boolean) => Promise<T>,
): Promise<{ item: T; action: 'created' | 'updated' }> {
  try {
    return { item: await create(false), action: 'created' };
  } catch (err) {
    if (flags.replace !== true || !isSkiffError(err, ErrorCode.ALREADY_EXISTS)) throw err;
  }
  return { item: await create(true), action: 'updated' };
}
