/**
 * gRPC unary calls over HTTP/2 on a unix socket, with node:http2 alone. The CLI makes one
 * or two calls per run; grpc-js costs more to load (~90 ms of CPU) than such a run may take
 * in all. The wire protocol (gRPC over HTTP/2): a POST to /package.Service/Method with
 * `content-type: application/grpc` and `te: trailers`; each message is framed as a
 * compressed-flag byte, a 4-byte big-endian length and the bytes; the status comes in
 * trailers (grpc-status, grpc-message percent-encoded, custom metadata), or in the headers
 * of a reply that has no message ("trailers-only").
 */
import { type ClientHttp2Session, connect, constants, type IncomingHttpHeaders } from 'node:http2';
import { connect as connectUnix } from 'node:net';
import { describe } from '../errors.js';
import { type CallStatus, GrpcStatus, SKIFF_CODE_KEY } from './grpc-status.js';

/** A call that ended without a message: its gRPC status, or the transport failure as one. */
export class CallFailure extends Error {
  constructor(
    readonly status: CallStatus,
    options?: { cause?: unknown },
  ) {
    super(`gRPC status ${status.code}: ${status.details}`, options);
    this.name = 'CallFailure';
  }
}

export interface UnaryChannel {
  /** Sends one request message, resolves with the reply's message bytes. */
  call(path: string, message: Buffer, timeoutMs: number): Promise<Buffer>;
  /** Lets running calls finish, then closes the connection. */
  close(): void;
}

const FRAME_HEADER_BYTES = 5;
/** grpc-timeout takes at most 8 digits. */
const MAX_TIMEOUT_MS = 99_999_999;

export function unixChannel(
  socketPath: string,
  { maxReceiveBytes }: { maxReceiveBytes: number },
): UnaryChannel {
  let session: ClientHttp2Session | undefined;
  let sessionError: Error | undefined;

  function open(): ClientHttp2Session {
    if (session && !session.closed && !session.destroyed) return session;
    sessionError = undefined;
    const s = connect('http://localhost', { createConnection: () => connectUnix(socketPath) });
    // The failure reaches each call as its stream closing; kept for the call's message.
    s.on('error', (err) => {
      sessionError = err;
    });
    // A call's deadline timer keeps the process alive while it runs; an idle connection
    // must not, even if close() is forgotten.
    s.unref();
    session = s;
    return s;
  }

  function call(path: string, message: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = open().request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: path,
        [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        [constants.HTTP2_HEADER_TE]: 'trailers',
        'grpc-timeout': `${Math.max(1, Math.min(Math.ceil(timeoutMs), MAX_TIMEOUT_MS))}m`,
      });
      let done = false;
      let status: IncomingHttpHeaders | undefined;
      let streamError: Error | undefined;
      const chunks: Buffer[] = [];
      let received = 0;

      const settle = (failure: CallFailure | undefined, reply?: Buffer): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (!failure) {
          resolve(reply!);
          return;
        }
        reject(failure);
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      };
      const fail = (code: number, details: string, cause?: unknown): void =>
        settle(new CallFailure({ code, details }, { cause }));
      const timer = setTimeout(
        () => fail(GrpcStatus.DEADLINE_EXCEEDED, `no answer within ${timeoutMs} ms`),
        timeoutMs,
      );

      stream.on('response', (headers) => {
        // Typed as a header string, but node hands over the number.
        const httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS]);
        if (httpStatus !== 200) fail(GrpcStatus.INTERNAL, `the router answered HTTP ${httpStatus}`);
        else if (headers['grpc-status'] !== undefined) status = headers;
      });
      stream.on('trailers', (trailers) => {
        status = trailers;
      });
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxReceiveBytes + FRAME_HEADER_BYTES) {
          fail(GrpcStatus.RESOURCE_EXHAUSTED, `the reply is larger than ${maxReceiveBytes} bytes`);
        } else {
          chunks.push(chunk);
        }
      });
      stream.on('error', (err) => {
        streamError = err;
      });
      stream.on('close', () => {
        if (done) return;
        if (!status) {
          const err = streamError ?? sessionError;
          const why = err ? describe(err) : 'the connection closed before the router answered';
          fail(GrpcStatus.UNAVAILABLE, why, err);
          return;
        }
        const code = Number(first(status['grpc-status']));
        if (code !== GrpcStatus.OK) {
          const skiffCode = first(status[SKIFF_CODE_KEY]);
          settle(
            new CallFailure({
              code: Number.isInteger(code) ? code : GrpcStatus.UNKNOWN,
              details: percentDecoded(first(status['grpc-message']) ?? ''),
              ...(skiffCode === undefined ? {} : { skiffCode }),
            }),
          );
          return;
        }
        const body = Buffer.concat(chunks);
        const problem = frameProblem(body);
        if (problem) fail(GrpcStatus.INTERNAL, problem);
        else settle(undefined, body.subarray(FRAME_HEADER_BYTES));
      });

      const header = Buffer.alloc(FRAME_HEADER_BYTES);
      header.writeUInt32BE(message.length, 1);
      stream.end(Buffer.concat([header, message]));
    });
  }

  return {
    call,
    close: () => session?.close(),
  };
}

/** Why a unary reply body is not exactly one uncompressed message, or undefined if it is. */
function frameProblem(body: Buffer): string | undefined {
  if (body.length < FRAME_HEADER_BYTES) return 'the reply holds no message';
  if (body[0] !== 0) return 'the reply is compressed, which was not asked for';
  const length = body.readUInt32BE(1);
  if (body.length !== FRAME_HEADER_BYTES + length) return 'the reply is not one message';
  return undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
