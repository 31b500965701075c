import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type * as Protobuf from 'protobufjs';
import { messageCodecs } from '../../../src/admin/codec.js';
import {
  ADMIN_PROTO_FILE,
  type AdminSchema,
  adminSchema,
  BUILT_SCHEMA_URL,
  protoDir,
  type SCALAR_TYPES,
  schemaFromProto,
} from '../../../src/admin/schema.js';
import { ErrorCode, isSkiffError } from '../../../src/errors.js';

const protobuf = createRequire(import.meta.url)('protobufjs') as typeof Protobuf;
const protoFile = join(protoDir(), ADMIN_PROTO_FILE);
/** The reference: protobufjs with the options @grpc/proto-loader was used with before. */
const reference = protobuf.loadSync(protoFile);
const toObjectOptions = { longs: Number, enums: String, defaults: true, oneofs: true };
const schema = adminSchema();
const codecOf = messageCodecs(schema);

/** proto-loader's oneof marker keys (`_url: 'url'`), which codec.ts does not add. */
function withoutMarkers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutMarkers);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.startsWith('_'))
      .map(([key, v]) => [key, withoutMarkers(v)]),
  );
}

const samples: Record<(typeof SCALAR_TYPES)[number], unknown[]> = {
  string: ['', 'plain', 'ünïcødé ✓ and a\nnewline'],
  bool: [false, true],
  uint32: [0, 1, 300, 4_294_967_295],
  int64: [0, 1, -1, -5_000_000_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
  double: [0, -1.5, 2.345, 1e300, Number.MIN_VALUE],
};

/** A value for every field of `name`, the i-th sample of each type, sub-messages to depth 2. */
function sample(name: string, i: number, depth = 0): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of schema.messages[name]!) {
    const one = (k: number): unknown => {
      const scalars = samples[field.type as keyof typeof samples];
      if (scalars) return scalars[k % scalars.length];
      return depth < 2 ? sample(field.type, k, depth + 1) : {};
    };
    value[field.name] = field.repeated ? [one(i), one(i + 1)] : one(i);
  }
  return value;
}

describe('admin message codec', () => {
  const names = Object.keys(schema.messages);

  it('covers every message of the admin service', () => {
    assert.ok(names.includes('skiff.admin.v1.SiteStatus'));
    assert.ok(Object.keys(schema.methods).includes('Status'));
    for (const { request, response } of Object.values(schema.methods)) {
      assert.ok(schema.messages[request] && schema.messages[response]);
    }
  });

  for (const name of names) {
    it(`${name}: reads and writes the same bytes as protobufjs`, () => {
      const type = reference.lookupType(name);
      const codec = codecOf(name);
      for (let i = 0; i < 6; i++) {
        const value = sample(name, i);
        const ours = codec.encode(value);
        const theirs = type.encode(type.fromObject(value)).finish();
        const expected = withoutMarkers(type.toObject(type.decode(theirs), toObjectOptions));
        assert.deepStrictEqual(codec.decode(theirs), expected, 'decoding protobufjs bytes');
        assert.deepStrictEqual(
          withoutMarkers(type.toObject(type.decode(ours), toObjectOptions)),
          expected,
          'protobufjs decoding our bytes',
        );
      }
      // Nothing set: defaults, [] for lists, null for sub-messages, optional fields absent.
      assert.deepStrictEqual(
        codec.decode(new Uint8Array(0)),
        withoutMarkers(type.toObject(type.decode(new Uint8Array(0)), toObjectOptions)),
      );
    });
  }

  it('skips fields it does not know (a newer peer)', () => {
    const codec = codecOf('skiff.admin.v1.LinkInfo');
    const known = codec.encode({ name: 'east', cost: 3 });
    const unknown = Buffer.from([
      ...[0xa0, 0x3e, 0x05], // field 1000, varint 5
      ...[0xa9, 0x3e, 1, 2, 3, 4, 5, 6, 7, 8], // field 1001, fixed64
      ...[0xb2, 0x3e, 0x02, 0x68, 0x69], // field 1002, two bytes
      ...[0xbd, 0x3e, 1, 2, 3, 4], // field 1003, fixed32
    ]);
    assert.deepStrictEqual(codec.decode(Buffer.concat([unknown, known])), codec.decode(known));
  });

  it('refuses truncated and mistyped input with an INTERNAL error', () => {
    const codec = codecOf('skiff.admin.v1.SiteStatus');
    const bytes = codec.encode(sample('skiff.admin.v1.SiteStatus', 1));
    const internal = (err: unknown) => isSkiffError(err, ErrorCode.INTERNAL);
    for (const cut of [1, 2, 10, bytes.length - 1]) {
      assert.throws(() => codec.decode(bytes.subarray(0, cut)), internal, `cut at ${cut}`);
    }
    // Field 2 (version, a string) sent as a varint.
    assert.throws(() => codec.decode(Buffer.from([0x10, 0x01])), internal);
    assert.throws(() => codec.decode(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), internal);
    assert.throws(() => codecOf('skiff.admin.v1.NoSuchMessage'), internal);
  });

  it('the schema npm run build writes matches proto/', {
    skip: !existsSync(BUILT_SCHEMA_URL),
  }, () => {
    const built = JSON.parse(readFileSync(BUILT_SCHEMA_URL, 'utf8')) as AdminSchema;
    assert.deepStrictEqual(built, schemaFromProto(protoFile));
  });

  it('refuses a .proto with types the codec does not handle, naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-schema-'));
    try {
      const cases: Array<[string, RegExp]> = [
        ['enum Color { RED = 0; }\nmessage Req { Color color = 1; }', /Req\.color is an enum/],
        ['message Req { map<string, string> labels = 1; }', /Req\.labels is a map/],
        ['message Req { repeated uint32 ports = 1; }', /Req\.ports is repeated numbers/],
        ['message Req { bytes data = 1; }', /Req\.data has type bytes/],
        ['message Req { oneof x { string a = 1; string b = 2; } }', /Req\.a is in a oneof/],
      ];
      for (const [body, pattern] of cases) {
        const file = join(dir, 'admin.proto');
        await writeFile(
          file,
          `syntax = "proto3";\npackage skiff.admin.v1;\nservice Admin { rpc Do(Req) returns (Req); }\n${body}\n`,
        );
        assert.throws(() => schemaFromProto(file), pattern);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
