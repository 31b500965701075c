/**
 * SkiffError <-> gRPC status. The server sends a status code a generic gRPC client
 * understands, the stable SKIFF_ERR_* code in the `skiff-code` metadata entry, and the
 * one-line message as the status details; the client turns that back into the same
 * SkiffError, so the CLI prints what the router said and exits with the code's status.
 */
import { Metadata, type ServiceError, type StatusObject, status } from '@grpc/grpc-js';
import { describe, ErrorCode, SkiffError } from '../errors.js';

/** The metadata key that carries the SKIFF_ERR_* code. */
export const SKIFF_CODE_KEY = 'skiff-code';

const grpcStatusByCode: Partial<Record<ErrorCode, status>> = {
  [ErrorCode.INVALID_ARGUMENT]: status.INVALID_ARGUMENT,
  [ErrorCode.NOT_FOUND]: status.NOT_FOUND,
  [ErrorCode.ALREADY_EXISTS]: status.ALREADY_EXISTS,
  [ErrorCode.PORT_IN_USE]: status.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_INVALID]: status.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_TAMPERED]: status.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_EXPIRED]: status.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_USED]: status.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_REVOKED]: status.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_UNKNOWN]: status.FAILED_PRECONDITION,
  [ErrorCode.NO_LINK_ACCESS]: status.FAILED_PRECONDITION,
  [ErrorCode.ISSUER_UNREACHABLE]: status.UNAVAILABLE,
  [ErrorCode.LIMIT]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.FORBIDDEN]: status.PERMISSION_DENIED,
  [ErrorCode.PLATFORM_UNAVAILABLE]: status.UNAVAILABLE,
  [ErrorCode.STATE_UNWRITABLE]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.INTERNAL]: status.INTERNAL,
};

const knownCodes = new Set<string>(Object.values(ErrorCode));

/** The gRPC status for a SkiffError code; codes without a close match become UNKNOWN. */
export function grpcStatusFor(code: ErrorCode): status {
  return grpcStatusByCode[code] ?? status.UNKNOWN;
}

/** Status details must be one line; multi-line messages keep their first. */
function oneLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}

/** What a handler passes to its callback for a failed call. */
export function toServiceError(err: unknown): Partial<StatusObject> {
  const code = err instanceof SkiffError ? err.code : ErrorCode.INTERNAL;
  const metadata = new Metadata();
  metadata.set(SKIFF_CODE_KEY, code);
  const message = err instanceof SkiffError ? err.message : describe(err);
  return { code: grpcStatusFor(code), details: oneLine(message), metadata };
}

/**
 * The SkiffError a failed call stands for: the router's own error when the status carries
 * a `skiff-code`, else a transport failure described for a person. `unreachable` makes what
 * to report when the router could not be reached at all.
 */
export function fromServiceError(err: ServiceError, unreachable: () => SkiffError): SkiffError {
  const value = err.metadata?.get(SKIFF_CODE_KEY)[0];
  if (typeof value === 'string' && knownCodes.has(value)) {
    return new SkiffError(value as ErrorCode, err.details || describe(err), { cause: err });
  }
  switch (err.code) {
    case status.UNAVAILABLE:
      return unreachable();
    case status.DEADLINE_EXCEEDED:
      return new SkiffError(ErrorCode.TIMEOUT, 'the router did not answer in time; try again', {
        cause: err,
      });
    default:
      return new SkiffError(
        ErrorCode.INTERNAL,
        `admin call failed: ${oneLine(err.details || describe(err))}`,
        { cause: err },
      );
  }
}
