/** Text views of connectors: the table, one connector's details, what expose and unexpose say. */
import type { ConnectorInfo } from '../../admin/api.js';
import { details, formatSince, hostPort, orDash, table } from '../format.js';

/** ADDRESS TARGET STATE STREAMS ERROR, one row per connector; "no connectors" when none. */
export function connectorTable(connectors: readonly ConnectorInfo[]): string {
  return table(
    ['ADDRESS', 'TARGET', 'STATE', 'STREAMS', 'ERROR'],
    connectors.map((c) => [
      c.address,
      hostPort(c.host, c.port),
      c.state,
      String(c.activeStreams),
      orDash(c.error),
    ]),
    'no connectors',
  );
}

/** `connector status ADDRESS`: every field of one connector, for people. */
export function connectorDetail(c: ConnectorInfo, now: number = Date.now()): string {
  const error =
    c.error === undefined
      ? '-'
      : `${c.error}${c.errorAt === undefined ? '' : `, at ${formatSince(c.errorAt, now)}`}`;
  return details([
    ['Address', c.address],
    ['Target', hostPort(c.host, c.port)],
    ['State', c.state],
    ['Last error', error],
    ['Streams', String(c.activeStreams)],
  ]);
}

export function exposedText(c: ConnectorInfo): string {
  return `exposed ${c.address} -> ${hostPort(c.host, c.port)}`;
}

export function unexposedText(c: { address: string }): string {
  return `${c.address} is no longer exposed from this site`;
}

/** `unexpose --ignore-not-found` of an address that is not exposed. */
export function connectorAbsentText(c: { address: string }): string {
  return `${c.address} is not exposed at this site; nothing deleted`;
}

/** `expose --replace` of an address that had a connector. */
export function reexposedText(c: ConnectorInfo): string {
  return `exposed ${c.address} -> ${hostPort(c.host, c.port)}, replacing its previous target`;
}

export function connectorUpdatedText(c: ConnectorInfo): string {
  return `connector for ${c.address} updated: ${c.address} -> ${hostPort(c.host, c.port)}`;
}
