/**
 * Build step (`npm run build`, after tsc): records the top-level commands' help entries from
 * the whole command tree beside the compiled src/cli/help-index.js, so `skiff --help` loads
 * no command module (src/cli/help-index.ts).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HELP_INDEX_URL, helpIndexOf } from '../src/cli/help-index.js';
import { buildProgram } from '../src/cli/program.js';

const index = helpIndexOf(await buildProgram('text'));
writeFileSync(HELP_INDEX_URL, `${JSON.stringify(index)}\n`);
process.stdout.write(
  `cli help index: ${index.length} commands -> ${fileURLToPath(HELP_INDEX_URL)}\n`,
);
