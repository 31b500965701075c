/** Text views of tokens: the table, one token's details, what create and revoke say. */
import type { TokenInfo } from '../../admin/api.js';
import { details, formatRelative, formatUntil, plural, table } from '../format.js';

/** ID STATE USED EXPIRES CREATED, one row per token; "no tokens" when none. */
export function tokenTable(tokens: readonly TokenInfo[], now: number = Date.now()): string {
  return table(
    ['ID', 'STATE', 'USED', 'EXPIRES', 'CREATED'],
    tokens.map((t) => [
      t.id,
      t.state,
      `${t.used}/${t.uses}`,
      formatRelative(t.expires, now),
      formatRelative(t.created, now),
    ]),
    'no tokens',
  );
}

/** `token list ID`: every field of one token, for people (it never holds the secret). */
export function tokenDetail(t: TokenInfo, now: number = Date.now()): string {
  return details([
    ['Id', t.id],
    ['State', t.state],
    ['Used', `${t.used} of ${plural(t.uses, 'use')}`],
    ['Created', formatUntil(t.created, now)],
    ['Expires', formatUntil(t.expires, now)],
  ]);
}

/** `file` as the user wrote it, not the absolute path the item carries. */
export function tokenCreatedText(t: TokenInfo, file: string): string {
  return `token written to ${file} (${plural(t.uses, 'use')}, expires ${t.expires}); redeem it at the other site with: skiff link create ${file}`;
}

export function tokenRevokedText(t: TokenInfo): string {
  return `token ${t.id} revoked: it can no longer be redeemed (links made from it stay)`;
}

/** `token revoke --ignore-not-found` of a token the site does not have. */
export function tokenAbsentText(t: { id: string }): string {
  return `no token ${t.id} at this site; nothing revoked`;
}
