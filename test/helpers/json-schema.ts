/**
 * A checker for the part of JSON Schema (2020-12) that docs/cli-output.schema.json uses:
 * type, const, enum, pattern, minimum/maximum, format date-time, properties, required,
 * additionalProperties (a boolean), items, anyOf and local $refs. Anything else in a schema
 * is refused, so the file cannot use a keyword this checker would silently ignore.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

export interface Schema {
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  format?: 'date-time';
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: Schema;
  anyOf?: Schema[];
  description?: string;
}

const KNOWN = new Set([
  '$ref',
  'type',
  'const',
  'enum',
  'pattern',
  'minimum',
  'maximum',
  'format',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'anyOf',
  'description',
]);

export interface SchemaFile {
  $defs: Record<string, Schema>;
}

export function loadCliOutputSchema(): SchemaFile {
  return JSON.parse(
    readFileSync(join(repoRoot, 'docs', 'cli-output.schema.json'), 'utf8'),
  ) as SchemaFile;
}

/** ISO 8601 as Date.toISOString() writes it (the only form skiff prints). */
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Every way `value` breaks `schema`, as `path: problem` lines; empty when it conforms. */
export function schemaProblems(
  file: SchemaFile,
  schema: Schema,
  value: unknown,
  path = '$',
): string[] {
  const unknown = Object.keys(schema).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) return [`${path}: schema uses unsupported ${unknown.join(', ')}`];
  if (schema.$ref !== undefined) {
    const name = /^#\/\$defs\/(\w+)$/.exec(schema.$ref)?.[1];
    const target = name === undefined ? undefined : file.$defs[name];
    if (target === undefined) return [`${path}: unresolved $ref ${schema.$ref}`];
    return schemaProblems(file, target, value, path);
  }
  if (schema.anyOf !== undefined) {
    const each = schema.anyOf.map((s) => schemaProblems(file, s, value, path));
    if (each.some((p) => p.length === 0)) return [];
    return [`${path}: matches none of anyOf: ${each.map((p) => p.join('; ')).join(' | ')}`];
  }
  const problems: string[] = [];
  const fail = (problem: string) => problems.push(`${path}: ${problem}`);
  if ('const' in schema && value !== schema.const) fail(`is not ${JSON.stringify(schema.const)}`);
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    fail(`${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (schema.type !== undefined && !hasType(value, schema.type)) {
    return [...problems, `${path}: ${JSON.stringify(value)} is not of type ${schema.type}`];
  }
  if (typeof value === 'string') {
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      fail(`${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
    if (schema.format === 'date-time' && !ISO_TIME.test(value)) fail(`${value} is not an ISO time`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      fail(`${value} < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum)
      fail(`${value} > ${schema.maximum}`);
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, i) => {
      problems.push(...schemaProblems(file, schema.items!, item, `${path}[${i}]`));
    });
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) fail(`lacks ${key}`);
    for (const [key, field] of Object.entries(record)) {
      const sub = schema.properties?.[key];
      if (sub !== undefined) problems.push(...schemaProblems(file, sub, field, `${path}.${key}`));
      else if (schema.additionalProperties === false) fail(`has undocumented field ${key}`);
    }
  }
  return problems;
}

function hasType(value: unknown, type: NonNullable<Schema['type']>): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}
