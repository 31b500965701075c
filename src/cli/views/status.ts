/** The text of `status`: this site's router, then a section per resource. */
import type { LinkPortStats, SiteStatus } from '../../admin/api.js';
import { formatBytes, formatUptime, section } from '../format.js';
import { connectorTable } from './connector.js';
import { linkTable } from './link.js';
import { listenerTable } from './listener.js';
import { addressTable } from './network.js';

function linkPortText(p: LinkPortStats): string {
  return `link port: ${p.unauthenticated} unauthenticated connections (at most ${p.maxUnauthenticated}, ${p.maxPerSource} per source); refused ${p.refusedPerSource} per source, ${p.refusedTotal} at the total cap; ${p.redeemsLimited} redeem requests rate-limited`;
}

export function statusText(s: SiteStatus): string {
  const access =
    s.site.linkAccess && s.site.linkUrl ? `link URL ${s.site.linkUrl}` : 'accepts no links';
  const head = [
    `site ${s.site.name} (${s.site.id}), ${s.site.platform} platform, ${access}`,
    `router ${s.version}, pid ${s.pid}, up ${formatUptime(s.uptimeSeconds)}`,
    `streams ${s.streams.active} open, ${s.streams.total} since start; buffered ${formatBytes(s.buffered.current)} (peak ${formatBytes(s.buffered.peak)})`,
    ...(s.linkPort ? [linkPortText(s.linkPort)] : []),
  ].join('\n');
  const problems = s.problems.length
    ? [section('Problems', s.problems.map((p) => p.problem).join('\n'))]
    : [];
  return [
    head,
    ...problems,
    section('Links', linkTable(s.links)),
    section('Listeners', listenerTable(s.listeners)),
    section('Connectors', connectorTable(s.connectors)),
    section('Addresses', addressTable(s.addresses)),
  ].join('\n\n');
}
