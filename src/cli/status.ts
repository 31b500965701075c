/** `status` (this site) and `network status` (every site this one knows of). */
import type { Command } from 'commander';
import type { AddressInfo, LinkPortStats, NetworkStatus, SiteStatus } from '../admin/api.js';
import { contextOf, withAdmin } from './context.js';
import { formatBytes, formatRtt, formatUptime, hostPort, table } from './format.js';
import { linkTable } from './link.js';
import { listenerTable } from './listener.js';
import { printResult } from './output.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("this site's router: links, listeners, connectors, addresses, streams")
    .action(async (_flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      const status = await withAdmin(ctx, (api) => api.status());
      printResult(ctx.output, status, statusText);
    });

  program
    .command('network')
    .description('the service network as this site sees it')
    .command('status')
    .description('every known site, the links between them, and where each address is served')
    .action(async (_flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      const network = await withAdmin(ctx, (api) => api.networkStatus());
      printResult(ctx.output, network, networkText);
    });
}

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
  const connectors = table(
    ['ADDRESS', 'TARGET', 'STREAMS'],
    s.connectors.map((c) => [c.address, hostPort(c.host, c.port), String(c.activeStreams)]),
    'no connectors',
  );
  const problems = s.problems.length
    ? [section('Problems (skipped until fixed)', s.problems.map((p) => p.problem).join('\n'))]
    : [];
  return [
    head,
    ...problems,
    section('Links', linkTable(s.links)),
    section('Listeners', listenerTable(s.listeners)),
    section('Connectors', connectors),
    section('Addresses', addressTable(s.addresses)),
  ].join('\n\n');
}

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

function addressTable(addresses: readonly AddressInfo[]): string {
  return table(
    ['ADDRESS', 'SITES'],
    addresses.map((a) => [a.address, a.sites.join(',') || '-']),
    'no addresses',
  );
}

function section(title: string, body: string): string {
  return `${title}:\n${body
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')}`;
}
