/** Text views of tokens: what `token create` says. */
import type { CreatedToken } from '../../admin/api.js';
import { plural } from '../format.js';

/** `file` as the user wrote it, not the absolute path the item carries. */
export function tokenCreatedText(t: Omit<CreatedToken, 'yaml'>, file: string): string {
  return `token written to ${file} (${plural(t.uses, 'use')}, expires ${t.expires}); redeem it at the other site with: skiff link create ${file}`;
}
