/** The admin service's unary methods: each one's gRPC path and message codecs. */
import { type MessageCodec, messageCodecs } from './codec.js';
import { adminSchema } from './schema.js';

export interface AdminMethod {
  /** `/skiff.admin.v1.Admin/Status` */
  path: string;
  request: MessageCodec;
  response: MessageCodec;
}

let cached: Record<string, AdminMethod> | undefined;

/** Method name (as in the .proto: `Status`, `CreateLink`) -> its definition; built once. */
export function adminMethods(): Record<string, AdminMethod> {
  if (cached) return cached;
  const schema = adminSchema();
  const codecOf = messageCodecs(schema);
  cached = Object.fromEntries(
    Object.entries(schema.methods).map(([name, m]) => [
      name,
      {
        path: `/${schema.service}/${name}`,
        request: codecOf(m.request),
        response: codecOf(m.response),
      },
    ]),
  );
  return cached;
}
