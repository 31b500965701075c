import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The temporary sibling a write makes (below); one left behind is a write cut short. */
export const TEMP_FILE = /^\.[0-9a-f]{12}\.tmp$/;

/**
 * Writes a file so that a crash leaves either the old or the new contents, never a torn
 * mix: write a temporary sibling, fsync it, rename over the target, fsync the directory.
 * With `exclusive`, an existing target is left alone and the write fails with EEXIST
 * (link(2) instead of rename(2): the same atomicity, but it never replaces).
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  { mode = 0o600, exclusive = false }: { mode?: number; exclusive?: boolean } = {},
): Promise<void> {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  if (exclusive) {
    try {
      await link(tmp, path);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  } else {
    await rename(tmp, path);
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
