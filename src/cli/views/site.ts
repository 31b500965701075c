/** Text views of the site: what `site create` says. */
import type { SiteInfo } from '../../admin/api.js';

export function siteCreatedText(info: SiteInfo, stateDir: string): string {
  const access = info.linkUrl ? `link URL ${info.linkUrl}` : 'accepts no links';
  return `site ${info.name} created in ${stateDir} (${access}); start it with: skiff --state-dir ${stateDir} site run`;
}
