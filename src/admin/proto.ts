import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ErrorCode, SkiffError } from '../errors.js';

/** The admin API's proto, relative to the repository's proto/ directory. */
export const ADMIN_PROTO_FILE = 'skiff/admin/v1/admin.proto';

/**
 * The proto/ directory. Compiled code runs from dist/src/admin/ (three levels below the
 * repository root); the second candidate covers running the TypeScript source directly.
 */
export function protoDir(): string {
  for (const relative of ['../../../proto/', '../../proto/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(join(dir, ADMIN_PROTO_FILE))) return dir;
  }
  throw new SkiffError(
    ErrorCode.INTERNAL,
    `cannot find ${ADMIN_PROTO_FILE} near ${fileURLToPath(import.meta.url)}; the installation is incomplete`,
  );
}

let cached: ServiceClientConstructor | undefined;

/**
 * The `skiff.admin.v1.Admin` service, loaded once. Field names come out camelCase (as in
 * admin/api.ts), 64-bit integers as numbers, scalars with their defaults, and proto3
 * `optional` fields absent when unset (see mapping.ts).
 */
export function adminService(): ServiceClientConstructor {
  if (cached) return cached;
  const definition = loadSync(ADMIN_PROTO_FILE, {
    includeDirs: [protoDir()],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const root = loadPackageDefinition(definition);
  const v1 = ((root.skiff as GrpcObject).admin as GrpcObject).v1 as GrpcObject;
  cached = v1.Admin as ServiceClientConstructor;
  return cached;
}
