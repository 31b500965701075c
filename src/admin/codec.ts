/**
 * Protocol Buffers encoding of the admin API's messages, driven by schema.ts: the wire
 * format (varints, length-delimited strings and messages, little-endian doubles) for the
 * few types the admin proto uses, so the CLI needs neither protobufjs nor grpc-js.
 *
 * Decoded objects look as @grpc/proto-loader made them with `longs: Number, defaults: true`:
 * unset scalars hold their default ('', 0, false), unset repeated fields [], unset
 * sub-messages null, and unset proto3 `optional` fields are absent. Unknown fields are
 * skipped (a newer peer); a truncated or mistyped field is an error.
 */
import { ErrorCode, SkiffError } from '../errors.js';
import type { AdminSchema, FieldSchema, ScalarType } from './schema.js';

export interface MessageCodec {
  encode(value: object): Buffer;
  decode(bytes: Uint8Array): Record<string, unknown>;
}

/** Protobuf wire types. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

const wireTypeOf: Record<ScalarType, number> = {
  string: LENGTH_DELIMITED,
  bool: VARINT,
  uint32: VARINT,
  int64: VARINT,
  double: FIXED64,
};

const defaultOf: Record<ScalarType, unknown> = {
  string: '',
  bool: false,
  uint32: 0,
  int64: 0,
  double: 0,
};

function isScalar(type: string): type is ScalarType {
  return Object.hasOwn(wireTypeOf, type);
}

function codecError(message: string): SkiffError {
  return new SkiffError(ErrorCode.INTERNAL, `admin message: ${message}`);
}

/** A codec per message of the schema, sharing one field table per message. */
export function messageCodecs(schema: AdminSchema): (name: string) => MessageCodec {
  const tables = new Map<string, Map<number, FieldSchema>>();
  const fieldsOf = (name: string): FieldSchema[] => {
    const fields = schema.messages[name];
    if (!fields) throw codecError(`unknown message type ${name}`);
    return fields;
  };
  const tableOf = (name: string): Map<number, FieldSchema> => {
    let table = tables.get(name);
    if (!table) {
      table = new Map(fieldsOf(name).map((f) => [f.id, f]));
      tables.set(name, table);
    }
    return table;
  };

  function encodeMessage(name: string, value: object, out: Writer): void {
    const record = value as Record<string, unknown>;
    for (const field of fieldsOf(name)) {
      const v = record[field.name];
      if (v === undefined || v === null) continue;
      if (!field.repeated) {
        encodeField(field, v, out);
        continue;
      }
      if (!Array.isArray(v)) throw codecError(`${name}.${field.name}: a list expected`);
      for (const item of v) encodeField(field, item, out);
    }
  }

  function encodeField(field: FieldSchema, v: unknown, out: Writer): void {
    if (!isScalar(field.type)) {
      if (typeof v !== 'object' || v === null) {
        throw codecError(`${field.name}: a ${field.type} object expected`);
      }
      const inner = new Writer();
      encodeMessage(field.type, v, inner);
      out.tag(field.id, LENGTH_DELIMITED);
      out.bytes(inner.finish());
      return;
    }
    out.tag(field.id, wireTypeOf[field.type]);
    switch (field.type) {
      case 'string':
        out.bytes(Buffer.from(String(v), 'utf8'));
        break;
      case 'bool':
        out.varint(v ? 1n : 0n);
        break;
      case 'uint32':
        out.varint(BigInt(Number(v) >>> 0));
        break;
      case 'int64':
        out.varint(BigInt.asUintN(64, BigInt(finite(field, v))));
        break;
      case 'double':
        out.double(Number(v));
        break;
    }
  }

  function decodeMessage(name: string, reader: Reader, end: number): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (const field of fieldsOf(name)) {
      if (field.repeated) result[field.name] = [];
      else if (!field.optional)
        result[field.name] = isScalar(field.type) ? defaultOf[field.type] : null;
    }
    const table = tableOf(name);
    while (reader.pos < end) {
      const tag = reader.varint();
      const id = Number(tag >> 3n);
      const wireType = Number(tag & 7n);
      const field = table.get(id);
      if (!field) {
        reader.skip(wireType, end);
        continue;
      }
      const expected = isScalar(field.type) ? wireTypeOf[field.type] : LENGTH_DELIMITED;
      if (wireType !== expected) {
        throw codecError(`${name}.${field.name} has wire type ${wireType}, not ${expected}`);
      }
      const value = decodeField(field, reader, end);
      if (field.repeated) (result[field.name] as unknown[]).push(value);
      else result[field.name] = value;
    }
    if (reader.pos !== end) throw codecError(`${name} overruns its length`);
    return result;
  }

  function decodeField(field: FieldSchema, reader: Reader, end: number): unknown {
    switch (field.type) {
      case 'string':
        return reader.string(end);
      case 'bool':
        return reader.varint() !== 0n;
      case 'uint32':
        return Number(BigInt.asUintN(32, reader.varint()));
      case 'int64':
        return Number(BigInt.asIntN(64, reader.varint()));
      case 'double':
        return reader.double(end);
      default: {
        const length = reader.length(end);
        return decodeMessage(field.type, reader, reader.pos + length);
      }
    }
  }

  return (name) => {
    fieldsOf(name);
    return {
      encode(value) {
        const out = new Writer();
        encodeMessage(name, value, out);
        return out.finish();
      },
      decode(bytes) {
        return decodeMessage(name, new Reader(bytes), bytes.length);
      },
    };
  };
}

function finite(field: FieldSchema, v: unknown): number {
  const n = Math.trunc(Number(v));
  if (!Number.isFinite(n)) throw codecError(`${field.name}: ${String(v)} is not a number`);
  return n;
}

class Writer {
  private readonly chunks: Buffer[] = [];

  tag(id: number, wireType: number): void {
    this.varint((BigInt(id) << 3n) | BigInt(wireType));
  }

  varint(value: bigint): void {
    const out: number[] = [];
    let v = value;
    while (v > 0x7fn) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.chunks.push(Buffer.from(out));
  }

  bytes(data: Buffer): void {
    this.varint(BigInt(data.length));
    this.chunks.push(data);
  }

  double(value: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleLE(value);
    this.chunks.push(b);
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

class Reader {
  pos = 0;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw codecError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
    }
    throw codecError('varint longer than 10 bytes');
  }

  length(end: number): number {
    const n = this.varint();
    if (n > BigInt(end - this.pos)) throw codecError('length beyond the message');
    return Number(n);
  }

  string(end: number): string {
    const n = this.length(end);
    const text = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return text;
  }

  double(end: number): number {
    if (end - this.pos < 8) throw codecError('truncated double');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  skip(wireType: number, end: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.advance(8, end);
        return;
      case LENGTH_DELIMITED:
        this.advance(this.length(end), end);
        return;
      case FIXED32:
        this.advance(4, end);
        return;
      default:
        throw codecError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number, end: number): void {
    if (end - this.pos < n) throw codecError('truncated field');
    this.pos += n;
  }
}
