/** The text of `network status`, and the address table `status` shares. */
import type { AddressInfo, NetworkStatus } from '../../admin/api.js';
import { formatRtt, section, table } from '../format.js';

export function networkText(n: NetworkStatus): string {
  const sites = table(
    ['SITE', 'ID', 'REACHABLE', 'ADDRESSES'],
    n.sites.map((s) => [s.name, s.id, s.reachable ? 'yes' : 'no', s.addresses.join(',') || '-']),
    'no sites',
  );
  const links = table(
    ['FROM', 'TO', 'COST', 'RTT'],
    n.links.map((l) => [l.from, l.to, String(l.cost), formatRtt(l.rttMs)]),
    'no links',
  );
  return [
    section('Sites', sites),
    section('Links', links),
    section('Addresses', addressTable(n.addresses)),
  ].join('\n\n');
}

/** ADDRESS SITES: which sites serve each address. */
export function addressTable(addresses: readonly AddressInfo[]): string {
  return table(
    ['ADDRESS', 'SITES'],
    addresses.map((a) => [a.address, a.sites.join(',') || '-']),
    'no addresses',
  );
}
