/** Text views of connectors: the table, and what `expose` and `unexpose` say. */
import type { ConnectorInfo } from '../../admin/api.js';
import { hostPort, table } from '../format.js';

/** ADDRESS TARGET STREAMS, one row per connector; "no connectors" when none. */
export function connectorTable(connectors: readonly ConnectorInfo[]): string {
  return table(
    ['ADDRESS', 'TARGET', 'STREAMS'],
    connectors.map((c) => [c.address, hostPort(c.host, c.port), String(c.activeStreams)]),
    'no connectors',
  );
}

export function exposedText(c: ConnectorInfo): string {
  return `exposed ${c.address} -> ${hostPort(c.host, c.port)}`;
}

export function unexposedText(c: { address: string }): string {
  return `${c.address} is no longer exposed from this site`;
}
