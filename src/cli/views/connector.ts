/** Text views of connectors: the table, one connector's details, what expose and unexpose say. */
import type { ConnectorInfo } from '../../admin/api.js';
import { details, hostPort, table } from '../format.js';

/** ADDRESS TARGET STREAMS, one row per connector; "no connectors" when none. */
export function connectorTable(connectors: readonly ConnectorInfo[]): string {
  return table(
    ['ADDRESS', 'TARGET', 'STREAMS'],
    connectors.map((c) => [c.address, hostPort(c.host, c.port), String(c.activeStreams)]),
    'no connectors',
  );
}

/** `connector status ADDRESS`: every field of one connector, for people. */
export function connectorDetail(c: ConnectorInfo): string {
  return details([
    ['Address', c.address],
    ['Target', hostPort(c.host, c.port)],
    ['Streams', String(c.activeStreams)],
  ]);
}

export function exposedText(c: ConnectorInfo): string {
  return `exposed ${c.address} -> ${hostPort(c.host, c.port)}`;
}

export function unexposedText(c: { address: string }): string {
  return `${c.address} is no longer exposed from this site`;
}
