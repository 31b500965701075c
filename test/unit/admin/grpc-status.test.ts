import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  type CallStatus,
  fromCallStatus,
  grpcStatusFor,
  SKIFF_CODE_KEY,
} from '../../../src/admin/grpc-status.js';
import { adminService } from '../../../src/admin/proto.js';
import { startAdminServer } from '../../../src/admin/server.js';
import { toServiceError } from '../../../src/admin/server-status.js';
import { adminSocketPath } from '../../../src/config/paths.js';
import { ErrorCode, SkiffError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { fakeAdmin } from '../../helpers/fake-admin.js';

describe('SkiffError <-> gRPC status', () => {
  it('maps codes to the gRPC status a generic client understands', () => {
    assert.equal(grpcStatusFor(ErrorCode.INVALID_ARGUMENT), status.INVALID_ARGUMENT);
    assert.equal(grpcStatusFor(ErrorCode.NOT_FOUND), status.NOT_FOUND);
    assert.equal(grpcStatusFor(ErrorCode.ALREADY_EXISTS), status.ALREADY_EXISTS);
    for (const code of [
      ErrorCode.PORT_IN_USE,
      ErrorCode.TOKEN_INVALID,
      ErrorCode.TOKEN_TAMPERED,
      ErrorCode.TOKEN_EXPIRED,
      ErrorCode.TOKEN_USED,
      ErrorCode.TOKEN_UNKNOWN,
      ErrorCode.NO_LINK_ACCESS,
    ]) {
      assert.equal(grpcStatusFor(code), status.FAILED_PRECONDITION, code);
    }
    assert.equal(grpcStatusFor(ErrorCode.ISSUER_UNREACHABLE), status.UNAVAILABLE);
    assert.equal(grpcStatusFor(ErrorCode.INTERNAL), status.INTERNAL);
    assert.equal(grpcStatusFor(ErrorCode.STATE_CORRUPT), status.UNKNOWN);
  });

  it('sends the one-line message as details and the code as skiff-code', () => {
    const sent = toServiceError(new SkiffError(ErrorCode.NOT_FOUND, 'no link named x'));
    assert.equal(sent.code, status.NOT_FOUND);
    assert.equal(sent.details, 'no link named x');
    assert.deepEqual(sent.metadata?.get(SKIFF_CODE_KEY), [ErrorCode.NOT_FOUND]);

    const other = toServiceError(new Error('first line\nsecond line'));
    assert.equal(other.code, status.INTERNAL);
    assert.equal(other.details, 'first line');
    assert.deepEqual(other.metadata?.get(SKIFF_CODE_KEY), [ErrorCode.INTERNAL]);
  });

  it('reads transport failures without a skiff-code as what they are', () => {
    const failure = (code: status, details: string, skiffCode?: string): CallStatus => ({
      code,
      details,
      ...(skiffCode === undefined ? {} : { skiffCode }),
    });
    const noRouter = () => new SkiffError(ErrorCode.NO_ROUTER, 'no router');
    assert.equal(
      fromCallStatus(failure(status.UNAVAILABLE, 'ECONNREFUSED'), noRouter).code,
      ErrorCode.NO_ROUTER,
    );
    assert.equal(
      fromCallStatus(failure(status.DEADLINE_EXCEEDED, 'late'), noRouter).code,
      ErrorCode.TIMEOUT,
    );
    assert.equal(
      fromCallStatus(failure(status.UNIMPLEMENTED, 'no such method'), noRouter).code,
      ErrorCode.INTERNAL,
    );
    // An unknown skiff-code (a newer router) is not trusted as a code.
    assert.equal(
      fromCallStatus(failure(status.UNKNOWN, 'new', 'SKIFF_ERR_FROM_THE_FUTURE'), noRouter).code,
      ErrorCode.INTERNAL,
    );
  });

  it('puts the status code and skiff-code on the wire', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skiff-admin-'));
    const fake = fakeAdmin();
    fake.failWith('deleteListener', new SkiffError(ErrorCode.NOT_FOUND, 'no listener for web'));
    const server = await startAdminServer(fake.api, adminSocketPath(dir), silentLogger);
    const Service = adminService();
    const raw = new Service(`unix://${adminSocketPath(dir)}`, credentials.createInsecure());
    try {
      const def = Service.service.DeleteListener!;
      const err = await new Promise<ServiceError>((resolve, reject) => {
        raw.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          { address: 'web' },
          new Metadata(),
          { deadline: Date.now() + 5_000 },
          (e) => (e ? resolve(e) : reject(new Error('the call should have failed'))),
        );
      });
      assert.equal(err.code, status.NOT_FOUND);
      assert.equal(err.details, 'no listener for web');
      assert.deepEqual(err.metadata.get(SKIFF_CODE_KEY), [ErrorCode.NOT_FOUND]);
    } finally {
      raw.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
