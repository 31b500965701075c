/** Text views of links: the table, one link's details, what `link create` and `delete` say. */
import type { LinkInfo } from '../../admin/api.js';
import { details, formatRtt, formatSince, orDash, table } from '../format.js';

/** NAME ID DIR PEER STATE COST RTT STREAMS ERROR, one row per link; "no links" when none. */
export function linkTable(links: readonly LinkInfo[]): string {
  return table(
    ['NAME', 'ID', 'DIR', 'PEER', 'STATE', 'COST', 'RTT', 'STREAMS', 'ERROR'],
    links.map((l) => [
      l.name,
      l.id,
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

/** `link status NAME`: every field of one link, for people. */
export function linkDetail(l: LinkInfo, now: number = Date.now()): string {
  const peer = l.peerSiteName ? `${l.peerSiteName} (${l.peerSiteId})` : '- (not yet known)';
  return details([
    ['Name', l.name],
    ['Id', l.id],
    ['Direction', l.direction === 'out' ? 'out (this site dialled)' : 'in (the peer dialled)'],
    ['Peer', peer],
    ...(l.url === undefined ? [] : [['URL', l.url] as const]),
    ['State', `${l.state}, since ${formatSince(l.since, now)}`],
    ['Cost', String(l.cost)],
    ['RTT', formatRtt(l.rttMs)],
    ['Streams', String(l.streams)],
    ['Last error', orDash(l.lastError)],
  ]);
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

/** `link delete --ignore-not-found` of a link that is not there. */
export function linkAbsentText(l: { name: string }): string {
  return `no link named ${l.name}; nothing deleted`;
}

export function linkUpdatedText(l: LinkInfo): string {
  return `link ${l.name} updated: cost ${l.cost}`;
}
