/**
 * The admin API as the CLI sees it: the same AdminApi the router implements, reached over
 * the unix socket in the state dir. Every call has a deadline; failures come back as the
 * SkiffError the router raised, or NO_ROUTER when nothing answers on the socket. Calls go
 * through unary-channel.ts and codec.ts, not grpc-js: a CLI run stays cheap to start.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { adminSocketPath } from '../config/paths.js';
import { ErrorCode, SkiffError } from '../errors.js';
import type { AdminApi } from './api.js';
import { fromCallStatus } from './grpc-status.js';
import {
  toConnectorInfo,
  toConnectorList,
  toConsoleInfo,
  toCreatedToken,
  toLinkInfo,
  toLinkList,
  toListenerInfo,
  toListenerList,
  toNetworkStatus,
  toSiteStatus,
  toTokenInfo,
  toTokenList,
  type Wire,
} from './mapping.js';
import { adminMethods } from './methods.js';
import { CallFailure, unixChannel } from './unary-channel.js';

export interface AdminClientOptions {
  /** Deadline of each call (default 30 s). */
  timeoutMs?: number;
  /**
   * Deadline of CreateLink (default 2 min): it redeems the token with the issuer and
   * waits for the first connection attempt, each bounded by the handshake timeout.
   */
  linkTimeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_LINK_TIMEOUT_MS = 120_000;
/** Enough for a debug dump of a large site (the router sends at most as much). */
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

export type AdminClient = AdminApi & {
  /** Releases the connection; calls made afterwards fail. */
  close(): void;
};

export function noRouterError(stateDir: string): SkiffError {
  return new SkiffError(
    ErrorCode.NO_ROUTER,
    `no router is running for state dir ${stateDir}; start one with: skiff --state-dir ${stateDir} site run`,
  );
}

export function connectAdmin(stateDir: string, opts: AdminClientOptions = {}): AdminClient {
  const dir = resolve(stateDir);
  const socketPath = adminSocketPath(dir);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const linkTimeoutMs = opts.linkTimeoutMs ?? Math.max(DEFAULT_LINK_TIMEOUT_MS, timeoutMs);
  const methods = adminMethods();
  // No connection is made until the first call.
  const channel = unixChannel(socketPath, { maxReceiveBytes: MAX_RECEIVE_BYTES });
  let closed = false;

  async function call<T>(
    method: string,
    request: object,
    map: (w: Wire) => T,
    ms = timeoutMs,
  ): Promise<T> {
    if (closed) throw new SkiffError(ErrorCode.INTERNAL, 'the admin client is closed');
    // A missing socket is the common case (router never started, or stopped cleanly): say
    // so at once instead of waiting for the connection to fail.
    if (!existsSync(socketPath)) throw noRouterError(dir);
    const def = methods[method];
    if (!def) throw new SkiffError(ErrorCode.INTERNAL, `admin method ${method} is unknown`);
    let reply: Buffer;
    try {
      reply = await channel.call(def.path, def.request.encode(request), ms);
    } catch (err) {
      if (!(err instanceof CallFailure)) throw err;
      throw fromCallStatus(err.status, () => unreachable(err), err);
    }
    return map(def.response.decode(reply));
  }

  /** Nothing answered: usually no router, but a socket of another user is worth telling apart. */
  function unreachable(err: CallFailure): SkiffError {
    if (/\b(EACCES|EPERM)\b/.test(err.status.details)) {
      return new SkiffError(
        ErrorCode.INTERNAL,
        `permission denied on the admin socket ${socketPath}; run skiff as the user that runs the router`,
        { cause: err },
      );
    }
    return noRouterError(dir);
  }

  const none = () => undefined;

  return {
    status: () => call('Status', {}, toSiteStatus),
    createToken: (req) => call('CreateToken', req, toCreatedToken),
    listTokens: () => call('ListTokens', {}, toTokenList),
    revokeToken: (id) => call('RevokeToken', { id }, toTokenInfo),
    createLink: (req) => call('CreateLink', req, toLinkInfo, linkTimeoutMs),
    updateLink: (req) => call('UpdateLink', req, toLinkInfo),
    deleteLink: (name) => call('DeleteLink', { name }, none),
    listLinks: () => call('ListLinks', {}, toLinkList),
    expose: (req) => call('Expose', req, toConnectorInfo),
    updateConnector: (req) => call('UpdateConnector', req, toConnectorInfo),
    unexpose: (address) => call('Unexpose', { address }, none),
    listConnectors: () => call('ListConnectors', {}, toConnectorList),
    createListener: (req) => call('CreateListener', req, toListenerInfo),
    updateListener: (req) => call('UpdateListener', req, toListenerInfo),
    deleteListener: (address) => call('DeleteListener', { address }, none),
    listListeners: () => call('ListListeners', {}, toListenerList),
    networkStatus: () => call('NetworkStatus', {}, toNetworkStatus),
    debugDump: () => call('DebugDump', {}, (w) => (typeof w.json === 'string' ? w.json : '')),
    startConsole: (req) => call('StartConsole', req, toConsoleInfo),
    close: () => {
      closed = true;
      channel.close();
    },
  };
}
