/**
 * Build step (`npm run build`): bundles the console's page (src/console/web/, cytoscape
 * included) with esbuild into dist/src/console/web/, where the router reads it
 * (src/console/assets.ts). The router then serves it itself: no CDN, no network.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ASSETS_DIR } from '../src/console/assets.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const result = await build({
  absWorkingDir: root,
  entryPoints: [
    { in: 'src/console/web/main.ts', out: 'console' },
    { in: 'src/console/web/console.css', out: 'console' },
  ],
  outdir: fileURLToPath(ASSETS_DIR),
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.entries(result.metafile.outputs).map(
  ([file, out]) => `${file.split('/').pop()} ${Math.round(out.bytes / 1024)} KiB`,
);
process.stdout.write(`console bundle: ${outputs.join(', ')} -> ${fileURLToPath(ASSETS_DIR)}\n`);
