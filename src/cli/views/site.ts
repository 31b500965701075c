/** Text views of the site: what `site create` and `site delete` say. */
import type { SiteInfo } from '../../admin/api.js';

export function siteCreatedText(info: SiteInfo, stateDir: string): string {
  const access = info.linkUrl ? `link URL ${info.linkUrl}` : 'accepts no links';
  return `site ${info.name} created in ${stateDir} (${access}); start it with: skiff --state-dir ${stateDir} site run`;
}

/** `left`: what the state dir still holds that skiff did not write (the dir then stays). */
export function siteDeletedText(r: { name?: string; stateDir: string; left: string[] }): string {
  const what = r.name === undefined ? 'site' : `site ${r.name}`;
  if (r.left.length === 0) return `${what} deleted: ${r.stateDir} removed`;
  return `${what} deleted from ${r.stateDir}; the directory stays, it holds files skiff did not write: ${r.left.join(', ')}`;
}

/** `site delete --ignore-not-found` where there is no site. */
export function siteAbsentText(r: { stateDir: string }): string {
  return `no site in ${r.stateDir}; nothing deleted`;
}

/** `site delete` on kubernetes. */
export function kubeSiteDeletedText(r: {
  name?: string;
  namespace: string;
  left: string[];
}): string {
  const what = r.name === undefined ? 'site' : `site ${r.name}`;
  const kept =
    r.left.length === 0 ? '' : `; kept, as skiff did not write them: ${r.left.join(', ')}`;
  return `${what} deleted from namespace ${r.namespace}${kept}`;
}

export function kubeSiteAbsentText(r: { namespace: string }): string {
  return `no site in namespace ${r.namespace}; nothing deleted`;
}
