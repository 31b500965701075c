/**
 * Listeners on picked ports (test/helpers/ports.ts): a picked port may be bound by another
 * process before the router binds it, and then the listener is refused or left `retrying`
 * on it. These run the `listener` command (or admin call) a test chose on one port, turn
 * such a taken port into PortTaken, and, through withFreePort(), try again on another.
 */
import assert from 'node:assert/strict';
import type { ListenerInfo, ListenerState } from '../../src/admin/api.js';
import { ErrorCode, isSkiffError } from '../../src/errors.js';
import { type CliResult, cliOk, json } from './cli.js';
import { PortTaken, saysPortInUse, withFreePort } from './ports.js';
import type { RouterProcess } from './router.js';

export interface ListenerCommandOptions {
  /** `listener create ADDRESS --port P` (the default) or `listener update ADDRESS --port P`. */
  verb?: 'create' | 'update';
  /** Arguments after `--port P`: --wait, --timeout, --no-wait, --replace. */
  args?: readonly string[];
  /** `-o json` or `-o yaml` before the command; text when not given. */
  output?: 'json' | 'yaml';
}

/**
 * One try of `skiff [-o OUTPUT] listener VERB ADDRESS --port P ...args` at `site`. Throws
 * PortTaken when P was taken: the command refused it as in use (a move of a bound listener,
 * a --wait that timed out), or printed a listener `retrying` on it with the port in use
 * (nothing else a listener command prints names a port in use). A listener a plain create
 * left on P is deleted first; a move refused leaves its listener where it was, and one left
 * retrying on P is moved on by the next try. Otherwise returns the result unchecked.
 */
export async function listenerCommand(
  site: RouterProcess,
  address: string,
  port: number,
  { verb = 'create', args = [], output }: ListenerCommandOptions = {},
): Promise<CliResult> {
  const result = await site.cli([
    ...(output === undefined ? [] : ['-o', output]),
    'listener',
    verb,
    address,
    '--port',
    String(port),
    ...args,
  ]);
  const said = result.code === 0 ? result.stdout : result.stderr;
  if (!saysPortInUse(said, port)) return result;
  if (verb === 'create' && !args.includes('--replace')) {
    await cliOk(site.stateDir, ['listener', 'delete', address, '--ignore-not-found']);
  }
  throw new PortTaken(port, said.trim());
}

/** listenerCommand() on a picked port, another one while the port was taken; returns both. */
export function listenerOnFreePort(
  site: RouterProcess,
  address: string,
  options: ListenerCommandOptions = {},
): Promise<{ port: number; result: CliResult }> {
  return withFreePort(async (port) => ({
    port,
    result: await listenerCommand(site, address, port, options),
  }));
}

export interface CreateListenerOptions {
  /** Arguments after `--port P`, e.g. --wait. */
  args?: readonly string[];
  /** The state the new listener must be in: `bound` unless given. */
  state?: ListenerState;
}

/**
 * One try of `listener create ADDRESS --port P -o json` at `site` (PortTaken as
 * listenerCommand() says); asserts it succeeded with a listener for ADDRESS on P in `state`.
 */
export async function createListenerOn(
  site: RouterProcess,
  address: string,
  port: number,
  { args = [], state = 'bound' }: CreateListenerOptions = {},
): Promise<ListenerInfo> {
  const listener = json<ListenerInfo>(
    await listenerCommand(site, address, port, { args, output: 'json' }),
  );
  assert.equal(listener.address, address);
  assert.equal(listener.port, port);
  assert.equal(listener.state, state, `listener ${address}: ${listener.error ?? ''}`);
  return listener;
}

/** createListenerOn() on a picked port, another one while the port was taken. */
export function createListener(
  site: RouterProcess,
  address: string,
  options: CreateListenerOptions = {},
): Promise<{ port: number; listener: ListenerInfo }> {
  return withFreePort(async (port) => ({
    port,
    listener: await createListenerOn(site, address, port, options),
  }));
}

/**
 * An admin call that moves an existing listener to `port` (createListener with replace,
 * updateListener): its PORT_IN_USE refusal of `port`, or the listener left retrying on it,
 * becomes PortTaken. Not for a create of a new listener, which would be left behind.
 */
export async function moveOrTaken(
  port: number,
  move: () => Promise<ListenerInfo>,
): Promise<ListenerInfo> {
  let moved: ListenerInfo;
  try {
    moved = await move();
  } catch (err) {
    if (isSkiffError(err, ErrorCode.PORT_IN_USE) && saysPortInUse(err.message, port)) {
      throw new PortTaken(port, err.message);
    }
    throw err;
  }
  if (moved.state === 'retrying' && saysPortInUse(moved.error ?? '', port)) {
    throw new PortTaken(port, moved.error ?? '');
  }
  return moved;
}
