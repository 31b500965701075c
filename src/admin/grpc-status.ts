/**
 * SkiffError <-> gRPC status. The server sends a status code a generic gRPC client
 * understands, the stable SKIFF_ERR_* code in the `skiff-code` metadata entry, and the
 * one-line message as the status details; the client turns that back into the same
 * SkiffError, so the CLI prints what the router said and exits with the code's status.
 * No grpc-js here: the CLI's client (client.ts) does not load it.
 */
import { describe, ErrorCode, SkiffError } from '../errors.js';

/** The metadata key that carries the SKIFF_ERR_* code. */
export const SKIFF_CODE_KEY = 'skiff-code';

/** The gRPC status codes skiff uses, as the gRPC specification numbers them. */
export const GrpcStatus = {
  OK: 0,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export type GrpcStatus = (typeof GrpcStatus)[keyof typeof GrpcStatus];

const grpcStatusNames = new Map<number, string>(
  Object.entries(GrpcStatus).map(([name, code]) => [code, name]),
);

/** The status's name ("NOT_FOUND"); UNKNOWN for a code skiff does not use. */
export function grpcStatusName(code: number | undefined): string {
  return grpcStatusNames.get(code ?? GrpcStatus.UNKNOWN) ?? 'UNKNOWN';
}

/** A failed call as the client sees it: the status, its details, the skiff-code if any. */
export interface CallStatus {
  code: number;
  details: string;
  skiffCode?: string;
}

const grpcStatusByCode: Partial<Record<ErrorCode, GrpcStatus>> = {
  [ErrorCode.INVALID_ARGUMENT]: GrpcStatus.INVALID_ARGUMENT,
  [ErrorCode.NOT_FOUND]: GrpcStatus.NOT_FOUND,
  [ErrorCode.ALREADY_EXISTS]: GrpcStatus.ALREADY_EXISTS,
  [ErrorCode.PORT_IN_USE]: GrpcStatus.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_INVALID]: GrpcStatus.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_TAMPERED]: GrpcStatus.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_EXPIRED]: GrpcStatus.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_USED]: GrpcStatus.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_REVOKED]: GrpcStatus.FAILED_PRECONDITION,
  [ErrorCode.TOKEN_UNKNOWN]: GrpcStatus.FAILED_PRECONDITION,
  [ErrorCode.NO_LINK_ACCESS]: GrpcStatus.FAILED_PRECONDITION,
  [ErrorCode.ISSUER_UNREACHABLE]: GrpcStatus.UNAVAILABLE,
  [ErrorCode.LIMIT]: GrpcStatus.RESOURCE_EXHAUSTED,
  [ErrorCode.FORBIDDEN]: GrpcStatus.PERMISSION_DENIED,
  [ErrorCode.PLATFORM_UNAVAILABLE]: GrpcStatus.UNAVAILABLE,
  [ErrorCode.TARGET_UNAVAILABLE]: GrpcStatus.UNAVAILABLE,
  [ErrorCode.STATE_UNWRITABLE]: GrpcStatus.RESOURCE_EXHAUSTED,
  [ErrorCode.INTERNAL]: GrpcStatus.INTERNAL,
};

const knownCodes = new Set<string>(Object.values(ErrorCode));

/** The gRPC status for a SkiffError code; codes without a close match become UNKNOWN. */
export function grpcStatusFor(code: ErrorCode): GrpcStatus {
  return grpcStatusByCode[code] ?? GrpcStatus.UNKNOWN;
}

/** Status details must be one line; multi-line messages keep their first. */
export function oneLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}

/** What the server sends for a failed call: status code, details, skiff-code. */
export function statusOf(err: unknown): Required<CallStatus> {
  const code = err instanceof SkiffError ? err.code : ErrorCode.INTERNAL;
  const message = err instanceof SkiffError ? err.message : describe(err);
  return { code: grpcStatusFor(code), details: oneLine(message), skiffCode: code };
}

/**
 * The SkiffError a failed call stands for: the router's own error when the status carries
 * a `skiff-code`, else a transport failure described for a person. `unreachable` makes what
 * to report when the router could not be reached at all.
 */
export function fromCallStatus(
  status: CallStatus,
  unreachable: () => SkiffError,
  cause?: unknown,
): SkiffError {
  const value = status.skiffCode;
  const details = status.details || `gRPC status ${status.code}`;
  if (value !== undefined && knownCodes.has(value)) {
    return new SkiffError(value as ErrorCode, details, { cause });
  }
  switch (status.code) {
    case GrpcStatus.UNAVAILABLE:
      return unreachable();
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new SkiffError(ErrorCode.TIMEOUT, 'the router did not answer in time; try again', {
        cause,
      });
    default:
      return new SkiffError(ErrorCode.INTERNAL, `admin call failed: ${oneLine(details)}`, {
        cause,
      });
  }
}
