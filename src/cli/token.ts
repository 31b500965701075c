/**
 * `token create FILE` (asks the router for a token and writes it to a new file), `token
 * list [ID]` (alias status) and `token revoke ID`. A token's secret never reaches stdout.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CreatedToken } from '../admin/api.js';
import { ErrorCode, SkiffError } from '../errors.js';
import { contextOf, withAdmin } from './context.js';
import { printAction, printItem, printList } from './output.js';
import {
  checkNewFile,
  fileProblem,
  parseDurationFlag,
  parseHost,
  parsePort,
  parsePositiveInt,
  parseTokenId,
} from './validate.js';
import { type DeleteFlags, deleting, listVerb, pickOne, withIgnoreNotFound } from './verbs.js';
import {
  tokenAbsentText,
  tokenCreatedText,
  tokenDetail,
  tokenRevokedText,
  tokenTable,
} from './views/token.js';

interface CreateFlags {
  expiry: string;
  uses: string;
  linkHost?: string;
  linkPort?: string;
}

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('tokens that let other sites link to this one');

  token
    .command('create')
    .description('write a token another site redeems with `skiff link create FILE`')
    .argument('<FILE>', 'where to write the token (must not exist; written with mode 0600)')
    .option('--expiry <DURATION>', 'how long the token stays valid, like 30s, 15m or 2h', '15m')
    .option('--uses <N>', 'how many times it may be redeemed', '1')
    .option(
      '--link-host <HOST>',
      "kubernetes: the host other sites dial (default: the link Service's load balancer, node port or DNS name)",
    )
    .option('--link-port <PORT>', 'kubernetes: the port other sites dial (default 8443)')
    .action(async (file: string, flags: CreateFlags, command: Command) => {
      const ctx = contextOf(command);
      const expiryMs = parseDurationFlag(flags.expiry, '--expiry');
      const uses = parsePositiveInt(flags.uses, '--uses');
      const link = linkFlags(ctx.platform, flags);
      const path = await checkNewFile(file, 'token');
      // CreatedToken lacks used/created/state; the list has them, so the item printed is
      // the one `token list` shows (docs/cli-output.md: one shape per kind).
      const { created, listed } = await withAdmin(ctx, async (api) => {
        const created = await api.createToken({ expiryMs, uses, ...link });
        return { created, listed: (await api.listTokens()).find((t) => t.id === created.id) };
      });
      // The token's text holds its secret: it goes to the file only, never to stdout.
      await writeToken(path, file, created);
      if (listed === undefined) {
        throw new SkiffError(
          ErrorCode.INTERNAL,
          `token ${created.id} was written to ${file}, but the router does not list it`,
        );
      }
      printAction(ctx.output, 'Token', 'created', { ...listed, file: path }, (t) =>
        tokenCreatedText(t, file),
      );
    });

  listVerb(token, 'show the tokens this site issued (never their secrets), or one')
    .argument('[ID]', 'only this token')
    .action(async (id: string | undefined, _flags: unknown, command: Command) => {
      const ctx = contextOf(command);
      if (id !== undefined) parseTokenId(id);
      const tokens = await withAdmin(ctx, (api) => api.listTokens());
      if (id === undefined) {
        printList(ctx.output, 'Token', tokens, (t) => tokenTable(t));
        return;
      }
      const one = pickOne(
        tokens,
        (t) => t.id === id,
        `no token ${id} at this site (expired tokens are forgotten); see: skiff token list`,
      );
      printItem(ctx.output, 'Token', one, (t) => tokenDetail(t));
    });

  // Revoking is this resource's delete: the token stays listed, as revoked.
  withIgnoreNotFound(
    token
      .command('revoke')
      .description('refuse every later redemption of a token; links made from it stay')
      .argument('<ID>', 'the token id, as `skiff token list` shows it'),
  ).action(async (id: string, flags: DeleteFlags, command: Command) => {
    const ctx = contextOf(command);
    parseTokenId(id);
    const revoked = await deleting(flags, () => withAdmin(ctx, (api) => api.revokeToken(id)));
    if (revoked) printAction(ctx.output, 'Token', 'updated', revoked.result, tokenRevokedText);
    else printAction(ctx.output, 'Token', 'unchanged', { id }, tokenAbsentText);
  });
}

/** `--link-host`/`--link-port`: what a kubernetes site's token advertises, if not found. */
function linkFlags(
  platform: 'local' | 'kubernetes',
  flags: CreateFlags,
): { linkHost?: string; linkPort?: number } {
  if (flags.linkHost === undefined && flags.linkPort === undefined) return {};
  if (platform !== 'kubernetes') {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      '--link-host and --link-port of token create are for --platform kubernetes; a local site advertises what skiff site create was given',
    );
  }
  return {
    ...(flags.linkHost === undefined ? {} : { linkHost: parseHost(flags.linkHost, '--link-host') }),
    ...(flags.linkPort === undefined ? {} : { linkPort: parsePort(flags.linkPort, '--link-port') }),
  };
}

/** Mode 0600 from the first byte, and `wx` so a file that appeared meanwhile is not replaced. */
async function writeToken(path: string, file: string, created: CreatedToken): Promise<void> {
  try {
    await writeFile(path, created.yaml, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new SkiffError(
      ErrorCode.INTERNAL,
      `cannot write token file ${file}: ${fileProblem(err)}; the token issued (${created.id}) is unused and expires ${created.expires}`,
      { cause: err },
    );
  }
}
