/**
 * Build step (`npm run build`, after tsc): derives the admin API schema from proto/ and
 * writes it beside the compiled src/admin/schema.js, so neither the CLI nor the router
 * parses the .proto at start (src/admin/schema.ts falls back to that when this is stale).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ADMIN_PROTO_FILE,
  BUILT_SCHEMA_URL,
  protoDir,
  schemaFromProto,
} from '../src/admin/schema.js';

const schema = schemaFromProto(join(protoDir(), ADMIN_PROTO_FILE));
writeFileSync(BUILT_SCHEMA_URL, `${JSON.stringify(schema)}\n`);
process.stdout.write(
  `admin schema: ${Object.keys(schema.methods).length} methods, ${Object.keys(schema.messages).length} messages -> ${fileURLToPath(BUILT_SCHEMA_URL)}\n`,
);
