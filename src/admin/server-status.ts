/** A failed call's status in the form grpc-js's server takes (grpc-status.ts says what it holds). */
import { Metadata, type StatusObject } from '@grpc/grpc-js';
import { SKIFF_CODE_KEY, statusOf } from './grpc-status.js';

export function toServiceError(err: unknown): Partial<StatusObject> {
  const { code, details, skiffCode } = statusOf(err);
  const metadata = new Metadata();
  metadata.set(SKIFF_CODE_KEY, skiffCode);
  return { code, details, metadata };
}
