/** Text views of listeners: the table, one listener's details, what create and delete say. */
import type { ListenerInfo } from '../../admin/api.js';
import { details, hostPort, orDash, table } from '../format.js';

/** ADDRESS LISTEN STATE STREAMS ERROR, one row per listener; "no listeners" when none. */
export function listenerTable(listeners: readonly ListenerInfo[]): string {
  return table(
    ['ADDRESS', 'LISTEN', 'STATE', 'STREAMS', 'ERROR'],
    listeners.map((l) => [
      l.address,
      hostPort(l.host, l.port),
      l.state,
      String(l.activeStreams),
      orDash(l.error),
    ]),
    'no listeners',
  );
}

/** `listener status ADDRESS`: every field of one listener, for people. */
export function listenerDetail(l: ListenerInfo): string {
  return details([
    ['Address', l.address],
    ['Listen', hostPort(l.host, l.port)],
    ['State', l.state],
    ['Error', orDash(l.error)],
    ['Streams', String(l.activeStreams)],
  ]);
}

export function listenerCreatedText(l: ListenerInfo): string {
  const where = hostPort(l.host, l.port);
  if (l.state === 'bound') return `listening on ${where} for ${l.address}`;
  return `listener for ${l.address} on ${where} created, state ${l.state}: ${l.error ?? 'unknown error'}`;
}

export function listenerDeletedText(l: { address: string }): string {
  return `listener for ${l.address} deleted`;
}

/** `listener delete --ignore-not-found` of a listener that is not there. */
export function listenerAbsentText(l: { address: string }): string {
  return `no listener for ${l.address}; nothing deleted`;
}

/** Where a listener is now after `update` or `create --replace`, and its state if not bound. */
function nowOn(l: ListenerInfo): string {
  const state = l.state === 'bound' ? '' : `, state ${l.state}: ${l.error ?? 'unknown error'}`;
  return `now on ${hostPort(l.host, l.port)}${state}`;
}

/** `listener create --replace` of an address that had a listener. */
export function listenerMovedText(l: ListenerInfo): string {
  return `listener for ${l.address} replaced: ${nowOn(l)}`;
}

export function listenerUpdatedText(l: ListenerInfo): string {
  return `listener for ${l.address} updated: ${nowOn(l)}`;
}
