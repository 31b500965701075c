/** Text views of links: the table, and what `link create` and `link delete` say. */
import type { LinkInfo } from '../../admin/api.js';
import { formatRtt, orDash, table } from '../format.js';

/** NAME DIR PEER STATE COST RTT STREAMS ERROR, one row per link; "no links" when none. */
export function linkTable(links: readonly LinkInfo[]): string {
  return table(
    ['NAME', 'DIR', 'PEER', 'STATE', 'COST', 'RTT', 'STREAMS', 'ERROR'],
    links.map((l) => [
      l.name,
      l.direction,
      orDash(l.peerSiteName),
      l.state,
      String(l.cost),
      formatRtt(l.rttMs),
      String(l.streams),
      orDash(l.lastError),
    ]),
    'no links',
  );
}

export function linkCreatedText(l: LinkInfo): string {
  const what =
    l.name === l.peerSiteName ? `link ${l.name}` : `link ${l.name} (to site ${l.peerSiteName})`;
  if (l.state === 'up') return `${what} is up`;
  const why = l.lastError ? `: ${l.lastError}` : '';
  return `${what} created, state ${l.state}${why}; it keeps retrying, see: skiff link status ${l.name}`;
}

export function linkDeletedText(l: { name: string }): string {
  return `link ${l.name} deleted`;
}
