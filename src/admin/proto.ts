/**
 * The admin service as grpc-js wants it, for the router's server (and tests that play a
 * generic gRPC client). Messages go through codec.ts, like the CLI's calls (client.ts),
 * so both ends read the schema the same way.
 */
import {
  makeGenericClientConstructor,
  type ServiceClientConstructor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { adminMethods } from './methods.js';

let cached: ServiceClientConstructor | undefined;

/** The `skiff.admin.v1.Admin` service, built once; handlers are keyed by method name (`Status`). */
export function adminService(): ServiceClientConstructor {
  if (cached) return cached;
  const definition: ServiceDefinition = Object.fromEntries(
    Object.entries(adminMethods()).map(([name, m]) => [
      name,
      {
        path: m.path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: object) => m.request.encode(value),
        requestDeserialize: (bytes: Buffer) => m.request.decode(bytes),
        responseSerialize: (value: object) => m.response.encode(value),
        responseDeserialize: (bytes: Buffer) => m.response.decode(bytes),
      },
    ]),
  );
  cached = makeGenericClientConstructor(definition, 'Admin');
  return cached;
}
