/**
 * The router's gRPC admin server on a unix socket (mode 0600). Handlers are thin: map
 * the request, call the AdminApi, hand the result to the serializer; a SkiffError becomes
 * a gRPC status carrying its code (grpc-status.ts).
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CallCounts } from '../metrics/call-counts.js';
import type { AdminApi } from './api.js';
import { grpcStatusName } from './grpc-status.js';
import type { Wire } from './mapping.js';
import { adminService } from './proto.js';
import {
  addressRequest,
  consoleRequest,
  createLinkRequest,
  createTokenRequest,
  endpointRequest,
  endpointUpdate,
  linkNameRequest,
  tokenIdRequest,
  updateLinkRequest,
} from './requests.js';
import { toServiceError } from './server-status.js';

export interface AdminServer {
  /** Stops accepting calls, lets running ones finish briefly, and removes the socket. */
  close(): Promise<void>;
}

/** Calls still running this long after close() are cancelled. */
const SHUTDOWN_GRACE_MS = 2_000;
/** sun_path holds 108 bytes on Linux, 104 on macOS, including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 103;
/** Enough for a debug dump of a large site. */
const MAX_SEND_BYTES = 64 * 1024 * 1024;
/** Requests are a token and a few names: a larger one is refused before it is read whole. */
export const MAX_RECEIVE_BYTES = 1024 * 1024;

export async function startAdminServer(
  api: AdminApi,
  socketPath: string,
  logger: Logger,
  /** Counts each call by method and status (for /metrics). */
  calls?: CallCounts,
): Promise<AdminServer> {
  const path = resolve(socketPath);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `the admin socket path ${path} is too long for a unix socket; use a shorter --state-dir`,
    );
  }
  const log = logger.child({ component: 'admin' });
  await removeStaleSocket(path);

  const server = new Server({
    'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    'grpc.max_send_message_length': MAX_SEND_BYTES,
  });
  server.addService(adminService().service, handlers(api, log, calls));
  // The socket is created with the umask applied: 0o077 leaves it rw for the owner only
  // from the first moment, and the chmod below makes the mode explicit whatever the umask.
  const previousMask = process.umask(0o077);
  try {
    await bind(server, `unix://${path}`);
  } catch (err) {
    server.forceShutdown();
    throw new SkiffError(
      ErrorCode.INTERNAL,
      `cannot listen on the admin socket ${path}: ${describe(err)}`,
      { cause: err },
    );
  } finally {
    process.umask(previousMask);
  }
  await chmod(path, 0o600);
  log.info({ socket: path }, 'admin API listening');

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= shutdown(server, path).then(() => log.info({ socket: path }, 'admin API closed'));
      return closing;
    },
  };
}

type Handler = (request: Wire) => Promise<object>;

function handlers(api: AdminApi, log: Logger, calls?: CallCounts): UntypedServiceImplementation {
  const table: Record<string, Handler> = {
    Status: () => api.status(),
    CreateToken: (r) => api.createToken(createTokenRequest(r)),
    ListTokens: async () => ({ tokens: await api.listTokens() }),
    RevokeToken: (r) => api.revokeToken(tokenIdRequest(r)),
    CreateLink: (r) => api.createLink(createLinkRequest(r)),
    UpdateLink: (r) => api.updateLink(updateLinkRequest(r)),
    DeleteLink: async (r) => {
      await api.deleteLink(linkNameRequest(r));
      return {};
    },
    ListLinks: async () => ({ links: await api.listLinks() }),
    Expose: (r) => api.expose(endpointRequest(r)),
    UpdateConnector: (r) => api.updateConnector(endpointUpdate(r)),
    Unexpose: async (r) => {
      await api.unexpose(addressRequest(r));
      return {};
    },
    ListConnectors: async () => ({ connectors: await api.listConnectors() }),
    CreateListener: (r) => api.createListener(endpointRequest(r)),
    UpdateListener: (r) => api.updateListener(endpointUpdate(r)),
    DeleteListener: async (r) => {
      await api.deleteListener(addressRequest(r));
      return {};
    },
    ListListeners: async () => ({ listeners: await api.listListeners() }),
    NetworkStatus: () => api.networkStatus(),
    DebugDump: async () => ({ json: await api.debugDump() }),
    StartConsole: (r) => api.startConsole(consoleRequest(r)),
  };
  const impl: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(table)) {
    impl[method] = (call: ServerUnaryCall<Wire, object>, callback: sendUnaryData<object>) => {
      const started = Date.now();
      // Promise.resolve().then() turns a synchronous throw into a rejection too.
      Promise.resolve()
        .then(() => handler(call.request))
        .then(
          (result) => {
            log.debug({ method, ms: Date.now() - started }, 'admin call');
            calls?.count(method, 'OK');
            callback(null, result);
          },
          (err: unknown) => {
            if (err instanceof SkiffError && err.code !== ErrorCode.INTERNAL) {
              log.debug({ method, code: err.code, err: err.message }, 'admin call refused');
            } else {
              log.error({ method, err: describe(err) }, 'admin call failed');
            }
            const status = toServiceError(err);
            calls?.count(method, grpcStatusName(status.code));
            callback(status);
          },
        );
    };
  }
  return impl;
}

function bind(server: Server, address: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolvePromise(),
    );
  });
}

/**
 * A socket left by a router that died is removed; one that still answers belongs to a
 * running router and is left alone. Anything else at that path is not ours to delete.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) {
    throw new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `${path} exists and is not a socket; move it away and start the router again`,
    );
  }
  if (await answers(path)) {
    throw new SkiffError(
      ErrorCode.ROUTER_RUNNING,
      `a router is already listening on ${path}; stop it first`,
    );
  }
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

async function shutdown(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolvePromise) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolvePromise();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      resolvePromise();
    });
  });
  await unlink(path).catch(() => undefined);
}
