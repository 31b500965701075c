import { readFile } from 'node:fs/promises';
import { ErrorCode, SkiffError } from '../errors.js';

/**
 * The page's script and style sheet, bundled by `npm run build` (scripts/console-bundle.ts,
 * esbuild) beside this module in dist, and read into memory once when the console starts:
 * the router serves them itself, nothing comes from a CDN, and the page works offline.
 */
export interface ConsoleAssets {
  script: string;
  style: string;
}

export const ASSETS_DIR = new URL('./web/', import.meta.url);

export async function loadAssets(): Promise<ConsoleAssets> {
  const read = (name: string) =>
    readFile(new URL(name, ASSETS_DIR), 'utf8').catch((err: unknown) => {
      throw new SkiffError(
        ErrorCode.INTERNAL,
        `the console's front end is not built (${name} is missing beside ${ASSETS_DIR.pathname}); run npm run build`,
        { cause: err },
      );
    });
  const [script, style] = await Promise.all([read('console.js'), read('console.css')]);
  return { script, style };
}
