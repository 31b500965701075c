/**
 * The admin API's messages and methods as plain data, derived from proto/ (the source of
 * truth). `npm run build` writes it to dist as JSON (scripts/admin-schema.ts) so a CLI
 * command neither loads protobufjs nor parses the .proto; when that file is missing or was
 * made from another .proto (a build by `tsc` alone after an edit), it is derived in memory.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Protobuf from 'protobufjs';
import { ErrorCode, SkiffError } from '../errors.js';

/** The admin API's proto, relative to the repository's proto/ directory. */
export const ADMIN_PROTO_FILE = 'skiff/admin/v1/admin.proto';
export const ADMIN_SERVICE = 'skiff.admin.v1.Admin';

/** The scalar types codec.ts handles; a .proto using others fails here, not on the wire. */
export const SCALAR_TYPES = ['string', 'bool', 'uint32', 'int64', 'double'] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

export interface FieldSchema {
  /** camelCase, as in admin/api.ts. */
  name: string;
  id: number;
  /** A scalar type, or the full name of a message type. */
  type: string;
  repeated: boolean;
  /** proto3 `optional`: absent when unset instead of a default. */
  optional: boolean;
}

export interface AdminSchema {
  /** SHA-256 of the .proto text it was derived from. */
  protoSha256: string;
  service: string;
  /** Method name -> full names of its request and response messages. */
  methods: Record<string, { request: string; response: string }>;
  /** Full message name -> its fields. */
  messages: Record<string, FieldSchema[]>;
}

/** Where `npm run build` writes the schema: beside this module in dist. */
export const BUILT_SCHEMA_URL = new URL('./admin-schema.json', import.meta.url);

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

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

let cached: AdminSchema | undefined;

/** The schema of the .proto in protoDir(), loaded once. */
export function adminSchema(): AdminSchema {
  if (cached) return cached;
  const protoFile = join(protoDir(), ADMIN_PROTO_FILE);
  const built = readBuiltSchema();
  cached =
    built?.protoSha256 === sha256(readFileSync(protoFile, 'utf8'))
      ? built
      : schemaFromProto(protoFile);
  return cached;
}

function readBuiltSchema(): AdminSchema | undefined {
  try {
    return JSON.parse(readFileSync(BUILT_SCHEMA_URL, 'utf8')) as AdminSchema;
  } catch {
    return undefined; // not built, or unreadable: derived from the .proto instead
  }
}

/** Parses the .proto with protobufjs (loaded only here) and keeps what codec.ts needs. */
export function schemaFromProto(protoFile: string): AdminSchema {
  const protobuf = createRequire(import.meta.url)('protobufjs') as typeof Protobuf;
  const text = readFileSync(protoFile, 'utf8');
  const root = protobuf.parse(text).root;
  root.resolveAll();
  const service = root.lookupService(ADMIN_SERVICE);
  const messages: AdminSchema['messages'] = {};
  const add = (type: Protobuf.Type): string => {
    const name = type.fullName.replace(/^\./, '');
    if (messages[name]) return name;
    messages[name] = []; // before the fields: a message may refer to itself
    messages[name] = type.fieldsArray.map((field) => fieldSchema(protobuf, name, field, add));
    return name;
  };
  const methods: AdminSchema['methods'] = {};
  for (const method of service.methodsArray) {
    if (method.requestStream || method.responseStream) {
      throw unsupported(`${ADMIN_SERVICE}.${method.name}`, 'is a streaming method');
    }
    methods[method.name] = {
      request: add(method.resolvedRequestType!),
      response: add(method.resolvedResponseType!),
    };
  }
  return {
    protoSha256: sha256(text),
    service: ADMIN_SERVICE,
    methods,
    messages,
  };
}

function fieldSchema(
  protobuf: typeof Protobuf,
  message: string,
  field: Protobuf.Field,
  addMessage: (type: Protobuf.Type) => string,
): FieldSchema {
  const where = `${message}.${field.name}`;
  const optional = field.options?.proto3_optional === true;
  if (field.map) throw unsupported(where, 'is a map');
  if (field.partOf && !optional) throw unsupported(where, 'is in a oneof');
  let type: string;
  if (field.resolvedType instanceof protobuf.Type) {
    type = addMessage(field.resolvedType as Protobuf.Type);
  } else if (field.resolvedType) {
    throw unsupported(where, 'is an enum');
  } else if ((SCALAR_TYPES as readonly string[]).includes(field.type)) {
    // Repeated numbers are packed on the wire; codec.ts reads only strings and messages repeated.
    if (field.repeated && field.type !== 'string') throw unsupported(where, 'is repeated numbers');
    type = field.type;
  } else {
    throw unsupported(where, `has type ${field.type}`);
  }
  return { name: field.name, id: field.id, type, repeated: field.repeated, optional };
}

function unsupported(where: string, what: string): SkiffError {
  return new SkiffError(
    ErrorCode.INTERNAL,
    `${ADMIN_PROTO_FILE}: ${where} ${what}, which src/admin/codec.ts does not handle; extend it or change the field`,
  );
}
