/**
 * Admin API requests, checked by the rules the CLI uses (config/rules.ts) before the router
 * sees them: a raw gRPC client gets INVALID_ARGUMENT naming the field, and nothing is saved.
 */
import {
  countProblem,
  hostProblem,
  MAX_LINK_COST,
  MAX_TOKEN_BYTES,
  MAX_TOKEN_EXPIRY_MS,
  MAX_TOKEN_USES,
  nameProblem,
  portProblem,
  tokenIdProblem,
} from '../config/rules.js';
import { ErrorCode, SkiffError } from '../errors.js';
import type { ConsoleRequest, EndpointRequest, EndpointUpdate } from './api.js';
import {
  toConsoleRequest,
  toCreateLinkRequest,
  toCreateTokenRequest,
  toEndpointRequest,
  toEndpointUpdate,
  toUpdateLinkRequest,
  type Wire,
} from './mapping.js';

function check(...problems: (string | undefined)[]): void {
  const problem = problems.find((p) => p !== undefined);
  if (problem !== undefined) throw new SkiffError(ErrorCode.INVALID_ARGUMENT, problem);
}

export function endpointRequest(w: Wire): EndpointRequest {
  const req = toEndpointRequest(w);
  check(
    nameProblem(req.address, 'address'),
    hostProblem(req.host, 'host'),
    portProblem(req.port, 'port'),
  );
  return req;
}

export function endpointUpdate(w: Wire): EndpointUpdate {
  const req = toEndpointUpdate(w);
  check(
    nameProblem(req.address, 'address'),
    req.host === undefined ? undefined : hostProblem(req.host, 'host'),
    req.port === undefined ? undefined : portProblem(req.port, 'port'),
    req.host === undefined && req.port === undefined
      ? `nothing to update for "${req.address}": give a new host or port`
      : undefined,
  );
  return req;
}

export function updateLinkRequest(w: Wire): { name: string; cost: number } {
  const req = toUpdateLinkRequest(w);
  check(nameProblem(req.name, 'link name'), countProblem(req.cost, 'cost', MAX_LINK_COST));
  return req;
}

export function tokenIdRequest(w: Wire): string {
  const id = typeof w.id === 'string' ? w.id : '';
  check(tokenIdProblem(id, 'token id'));
  return id;
}

export function addressRequest(w: Wire): string {
  const address = typeof w.address === 'string' ? w.address : '';
  check(nameProblem(address, 'address'));
  return address;
}

export function linkNameRequest(w: Wire): string {
  const name = typeof w.name === 'string' ? w.name : '';
  check(nameProblem(name, 'link name'));
  return name;
}

export function createLinkRequest(w: Wire): { token: string; name?: string; cost: number } {
  const req = toCreateLinkRequest(w);
  check(
    Buffer.byteLength(req.token) > MAX_TOKEN_BYTES
      ? `the token is larger than ${MAX_TOKEN_BYTES} bytes; pass the file made by skiff token create`
      : undefined,
    req.name === undefined ? undefined : nameProblem(req.name, 'link name'),
    countProblem(req.cost, 'cost', MAX_LINK_COST),
  );
  return req;
}

export function createTokenRequest(w: Wire): { expiryMs: number; uses: number } {
  const req = toCreateTokenRequest(w);
  check(
    countProblem(req.expiryMs, 'expiry (ms)', MAX_TOKEN_EXPIRY_MS),
    countProblem(req.uses, 'uses', MAX_TOKEN_USES),
  );
  return req;
}

export function consoleRequest(w: Wire): ConsoleRequest {
  const req = toConsoleRequest(w);
  check(
    req.host === undefined ? undefined : hostProblem(req.host, 'console host'),
    req.port === 0 ? undefined : portProblem(req.port, 'console port'),
  );
  return req;
}
