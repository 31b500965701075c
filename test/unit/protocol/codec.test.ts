import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import { decodeCodeReason, decodeFrames, decodeJsonObject } from '../../../src/protocol/decode.js';
import {
  encodeControl,
  encodeFin,
  encodeFrame,
  encodeGoAway,
  encodeOpen,
  encodeOpenOk,
  encodePing,
  encodePong,
  encodeReset,
  encodeWindow,
  writeHeader,
} from '../../../src/protocol/encode.js';
import { FrameType, HEADER_SIZE, ResetCode } from '../../../src/protocol/frame.js';

/** Hex with spaces allowed, as written in the tests below. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function utf8hex(text: string): string {
  return Buffer.from(text).toString('hex');
}

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

function decodeAll(message: Buffer, maxFrameSize = 64 * 1024): Frame[] {
  const out: Frame[] = [];
  decodeFrames(message, maxFrameSize, (type, flags, streamId, payload) => {
    out.push({ type, flags, streamId, payload });
  });
  return out;
}

function isProtocolError(pattern: RegExp) {
  return (err: unknown) =>
    isSkiffError(err, 'SKIFF_ERR_PROTOCOL') && pattern.test((err as Error).message);
}

describe('frame encoding matches the documented layout byte for byte', () => {
  it('writes a header big-endian with flags and reserved zero', () => {
    const buf = Buffer.alloc(HEADER_SIZE + 2, 0xff);
    assert.equal(writeHeader(buf, 2, FrameType.DATA, 0x01020304, 0xa0b0c0d0), 14);
    assert.deepEqual(buf, hex('ffff 00 00 0000 01020304 a0b0c0d0'));
  });

  const cases: [string, Buffer, string][] = [
    [
      'DATA',
      encodeFrame(FrameType.DATA, 1, Buffer.from('hi')),
      '00 00 0000 00000001 00000002 6869',
    ],
    ['WINDOW', encodeWindow(3, 65536), '01 00 0000 00000003 00000004 00010000'],
    [
      'OPEN',
      encodeOpen(5, { address: 'api', window: 1024 }),
      `02 00 0000 00000005 0000001f ${utf8hex('{"address":"api","window":1024}')}`,
    ],
    [
      'OPEN_OK',
      encodeOpenOk(6, 2048),
      `03 00 0000 00000006 0000000f ${utf8hex('{"window":2048}')}`,
    ],
    ['FIN', encodeFin(7), '04 00 0000 00000007 00000000'],
    ['RESET', encodeReset(9, ResetCode.ABORTED, 'x'), '05 00 0000 00000009 00000005 00000002 78'],
    ['PING', encodePing(hex('0102030405060708')), '06 00 0000 00000000 00000008 0102030405060708'],
    ['PONG', encodePong(hex('0102030405060708')), '07 00 0000 00000000 00000008 0102030405060708'],
    ['CONTROL', encodeControl({ t: 1 }), `08 00 0000 00000000 00000007 ${utf8hex('{"t":1}')}`],
    [
      'GOAWAY',
      encodeGoAway(ResetCode.REVOKED, 'bye'),
      '09 00 0000 00000000 00000007 00000009 627965',
    ],
  ];
  for (const [name, encoded, expected] of cases) {
    it(`${name} encodes to the expected bytes and decodes back`, () => {
      assert.equal(encoded.toString('hex'), hex(expected).toString('hex'));
      const frames = decodeAll(hex(expected));
      assert.equal(frames.length, 1);
      const frame = frames[0]!;
      assert.equal(frame.type, encoded[0]);
      assert.equal(frame.flags, 0);
      assert.equal(frame.streamId, encoded.readUInt32BE(4));
      assert.deepEqual(frame.payload, encoded.subarray(HEADER_SIZE));
    });
  }

  it('payload helpers read back what the builders wrote', () => {
    const reset = decodeAll(encodeReset(9, ResetCode.NO_ROUTE, 'no route to "api" ✓'))[0]!;
    assert.deepEqual(decodeCodeReason(reset.payload), {
      code: ResetCode.NO_ROUTE,
      reason: 'no route to "api" ✓',
    });
    const open = decodeAll(encodeOpen(1, { address: 'db', window: 7, hops: ['a'] }))[0]!;
    assert.deepEqual(decodeJsonObject(open.payload, 'OPEN'), {
      address: 'db',
      window: 7,
      hops: ['a'],
    });
    assert.throws(() => decodeJsonObject(Buffer.from('[1]'), 'OPEN'), /not a JSON object/);
    assert.throws(() => decodeJsonObject(Buffer.from('{'), 'OPEN'), /not valid JSON/);
  });
});

describe('decodeFrames parses raw messages', () => {
  it('splits several frames of one message, in order, as views of the message', () => {
    const message = hex(`
      00 00 0000 00000001 00000003 616263
      01 00 0000 00000001 00000004 00000100
      00 00 0000 00000003 00000000
      04 00 0000 00000001 00000000
      06 00 0000 00000000 00000008 0000000000000001
    `);
    const frames = decodeAll(message);
    assert.deepEqual(
      frames.map((f) => [f.type, f.streamId, f.payload.toString('hex')]),
      [
        [FrameType.DATA, 1, '616263'],
        [FrameType.WINDOW, 1, '00000100'],
        [FrameType.DATA, 3, ''],
        [FrameType.FIN, 1, ''],
        [FrameType.PING, 0, '0000000000000001'],
      ],
    );
    // No copies: the DATA payload shares memory with the message.
    assert.equal(frames[0]!.payload.buffer, message.buffer);
    assert.equal(frames[0]!.payload.byteOffset, message.byteOffset + HEADER_SIZE);
  });

  it('accepts zero-length DATA and an empty message', () => {
    assert.equal(decodeAll(hex('00 00 0000 00000001 00000000'))[0]!.payload.length, 0);
    assert.deepEqual(decodeAll(Buffer.alloc(0)), []);
  });

  it('accepts DATA of exactly maxFrameSize and ignores flags', () => {
    const message = Buffer.concat([hex('00 07 0000 00000001 00000400'), Buffer.alloc(1024, 1)]);
    const frames = decodeAll(message, 1024);
    assert.equal(frames[0]!.payload.length, 1024);
    assert.equal(frames[0]!.flags, 7);
  });

  it('rejects a truncated header', () => {
    assert.throws(
      () => decodeAll(hex('00 00 0000 00000001 0000')),
      isProtocolError(/truncated frame header/),
    );
    // ... also after a whole first frame, which is delivered before the error.
    const seen: number[] = [];
    assert.throws(
      () => decodeFrames(hex('04 00 0000 00000001 00000000 00'), 1024, (type) => seen.push(type)),
      isProtocolError(/truncated frame header: 1 of 12/),
    );
    assert.deepEqual(seen, [FrameType.FIN]);
  });

  it('rejects a truncated payload', () => {
    assert.throws(
      () => decodeAll(hex('00 00 0000 00000001 00000005 61626364')),
      isProtocolError(/truncated DATA payload: 4 of 5/),
    );
  });

  it('rejects DATA larger than maxFrameSize before looking for its payload', () => {
    assert.throws(
      () => decodeAll(hex('00 00 0000 00000001 00000401'), 1024),
      isProtocolError(/DATA frame of 1025 bytes exceeds maxFrameSize 1024/),
    );
  });

  it('lets control frames exceed maxFrameSize up to 1 MiB, not beyond', () => {
    const big = Buffer.alloc(2000, 0x20);
    big[0] = 0x7b; // '{'
    big[big.length - 1] = 0x7d; // '}'
    const message = Buffer.concat([hex('08 00 0000 00000000 000007d0'), big]);
    assert.equal(decodeAll(message, 1024)[0]!.payload.length, 2000);
    assert.throws(
      () => decodeAll(hex('08 00 0000 00000000 00100001'), 1024),
      isProtocolError(/CONTROL frame with a 1048577-byte payload/),
    );
  });

  it('rejects an unknown type', () => {
    assert.throws(
      () => decodeAll(hex('0a 00 0000 00000001 00000000')),
      isProtocolError(/unknown frame type 10/),
    );
    assert.throws(
      () => decodeAll(hex('ff 00 0000 00000001 00000000')),
      isProtocolError(/unknown frame type 255/),
    );
  });

  it('rejects a non-zero reserved field', () => {
    assert.throws(
      () => decodeAll(hex('00 00 0001 00000001 00000000')),
      isProtocolError(/reserved/),
    );
    assert.throws(
      () => decodeAll(hex('00 00 8000 00000001 00000000')),
      isProtocolError(/reserved/),
    );
  });

  it('rejects payloads of the wrong size for their type', () => {
    assert.throws(
      () => decodeAll(hex('01 00 0000 00000001 00000002 0001')),
      isProtocolError(/WINDOW frame with a 2-byte/),
    );
    assert.throws(
      () => decodeAll(hex('04 00 0000 00000001 00000001 00')),
      isProtocolError(/FIN frame with a 1-byte/),
    );
    assert.throws(
      () => decodeAll(hex('06 00 0000 00000000 00000004 00000000')),
      isProtocolError(/PING frame/),
    );
    assert.throws(
      () => decodeAll(hex('05 00 0000 00000001 00000002 0001')),
      isProtocolError(/RESET frame/),
    );
  });

  it('rejects stream frames on stream 0 and link frames on a stream', () => {
    assert.throws(
      () => decodeAll(hex('00 00 0000 00000000 00000000')),
      isProtocolError(/DATA frame on stream 0/),
    );
    assert.throws(
      () => decodeAll(hex('06 00 0000 00000003 00000008 0000000000000000')),
      isProtocolError(/PING frame on stream 3/),
    );
  });
});
