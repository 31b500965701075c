import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, isSkiffError } from '../../../src/errors.js';
import { decodeFrames, FrameDecoder } from '../../../src/protocol/decode.js';
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
import { seededBytes, seededRandom } from '../../helpers/random.js';
import { byteChunks, randomChunks, splitAt } from '../../helpers/split.js';

// FrameDecoder, fed a message in pieces cut anywhere (as TLS reads cut a WebSocket
// message), reports the same frames as decodeFrames does for the whole message: DATA
// payloads in one or more views that join to the frame's bytes, every other frame whole and
// exactly once. A message that ends inside a header or a payload is refused at endMessage().

const T = { timeout: 20_000 };
const MAX_FRAME = 64 * 1024;

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Every onFrame call, in order (payloads copied: the test reuses nothing, but be safe). */
function recorder(): { calls: Frame[]; decoder: FrameDecoder } {
  const calls: Frame[] = [];
  const decoder = new FrameDecoder(MAX_FRAME, (type, flags, streamId, payload) => {
    calls.push({ type, flags, streamId, payload: Buffer.from(payload) });
  });
  return { calls, decoder };
}

/** What decodeFrames reports for the whole message: the reference. */
function reference(message: Buffer): Frame[] {
  const frames: Frame[] = [];
  decodeFrames(message, MAX_FRAME, (type, flags, streamId, payload) => {
    frames.push({ type, flags, streamId, payload: Buffer.from(payload) });
  });
  return frames;
}

/**
 * Joins the DATA pieces of `calls` per frame, taking the frame lengths from `expected`:
 * an empty DATA frame must be one empty call, a non-empty one non-empty pieces of the same
 * stream; every other frame must be one call. Leftover calls fail.
 */
function joinPerFrame(calls: Frame[], expected: Frame[]): Frame[] {
  const joined: Frame[] = [];
  let i = 0;
  for (const frame of expected) {
    const first = calls[i++];
    assert.ok(first, `a call for frame ${joined.length} (type ${frame.type})`);
    if (frame.type !== FrameType.DATA || frame.payload.length === 0) {
      joined.push(first);
      continue;
    }
    const pieces = [first.payload];
    let bytes = first.payload.length;
    while (bytes < frame.payload.length) {
      const next = calls[i++];
      assert.ok(next, `more pieces of DATA frame ${joined.length}`);
      assert.equal(next.type, FrameType.DATA);
      assert.equal(next.streamId, first.streamId);
      pieces.push(next.payload);
      bytes += next.payload.length;
    }
    assert.ok(
      pieces.every((piece) => piece.length > 0),
      'a non-empty DATA frame has no empty pieces',
    );
    joined.push({ ...first, payload: Buffer.concat(pieces) });
  }
  assert.equal(i, calls.length, 'calls beyond the expected frames');
  return joined;
}

/** A message holding one of each kind of frame, DATA of several sizes. */
function bigMessage(rand: () => number): Buffer {
  const routes = Array.from({ length: 60 }, (_, i) => ({
    site: `site-${i}`,
    cost: i,
    via: 'west',
  }));
  return Buffer.concat([
    encodeFrame(FrameType.DATA, 1, Buffer.alloc(0)),
    encodeFrame(FrameType.DATA, 3, seededBytes(rand, 1)),
    encodeWindow(1, 65536),
    encodeOpen(5, { address: 'web', window: 262144, hops: ['west', 'east'] }),
    encodeFrame(FrameType.DATA, 5, seededBytes(rand, 5000)),
    encodePing(seededBytes(rand, 8)),
    encodeControl({ kind: 'advert', routes }),
    encodeFrame(FrameType.DATA, 1, seededBytes(rand, MAX_FRAME)),
    encodeFrame(FrameType.DATA, 1, seededBytes(rand, 3)),
    encodeFrame(FrameType.DATA, 1, Buffer.alloc(0)),
    encodeOpenOk(5, 1000),
    encodeFin(3),
    encodeReset(5, ResetCode.REFUSED, 'connection refused'),
    encodePong(seededBytes(rand, 8)),
    encodeGoAway(ResetCode.SHUTDOWN, 'bye'),
  ]);
}

/** A few hundred bytes: small enough to try every split point. */
function smallMessage(): Buffer {
  return Buffer.concat([
    encodeFrame(FrameType.DATA, 1, Buffer.from('hello')),
    encodeFrame(FrameType.DATA, 1, Buffer.alloc(0)),
    encodeWindow(1, 4096),
    encodeOpen(7, { address: 'db', window: 65536 }),
    encodePing(Buffer.from('01234567')),
    encodeControl({ kind: 'hello', site: 'west' }),
    encodeFrame(FrameType.DATA, 7, Buffer.from('x')),
  ]);
}

/** Pushes the pieces and ends the message; returns the frames seen, joined per frame. */
function decodePieces(pieces: Buffer[], expected: Frame[]): Frame[] {
  const { calls, decoder } = recorder();
  for (const piece of pieces) decoder.push(piece);
  decoder.endMessage();
  return joinPerFrame(calls, expected);
}

function isProtocolError(pattern: RegExp) {
  return (err: unknown) =>
    isSkiffError(err, ErrorCode.PROTOCOL) && pattern.test((err as Error).message);
}

describe('FrameDecoder', () => {
  it('sees what decodeFrames sees, for a message cut at seeded random points', T, () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rand = seededRandom(seed);
      const message = bigMessage(rand);
      const expected = reference(message);
      assert.equal(expected.length, 15);
      assert.deepEqual(
        decodePieces(randomChunks(message, rand), expected),
        expected,
        `seed ${seed}`,
      );
    }
  });

  it('sees what decodeFrames sees, for every split point of a small message', T, () => {
    const message = smallMessage();
    const expected = reference(message);
    for (let at = 0; at <= message.length; at++) {
      assert.deepEqual(decodePieces(splitAt(message, at), expected), expected, `split at ${at}`);
    }
    assert.deepEqual(decodePieces(byteChunks(message), expected), expected, 'byte by byte');
  });

  it('reads only the given range of each piece', T, () => {
    const message = smallMessage();
    const expected = reference(message);
    const junk = Buffer.alloc(7, 0xff); // a bad frame type: decoding it would throw
    for (let at = 0; at <= message.length; at++) {
      const { calls, decoder } = recorder();
      for (const piece of splitAt(message, at)) {
        const framed = Buffer.concat([junk, piece, junk]);
        decoder.push(framed, junk.length, junk.length + piece.length);
      }
      decoder.endMessage();
      assert.deepEqual(joinPerFrame(calls, expected), expected, `split at ${at}`);
    }
  });

  it('decodes message after message with one decoder', T, () => {
    const rand = seededRandom(42);
    const messages = [bigMessage(rand), smallMessage(), bigMessage(rand)];
    const { calls, decoder } = recorder();
    for (const message of messages) {
      for (const piece of randomChunks(message, rand)) decoder.push(piece);
      decoder.endMessage();
    }
    const expected = messages.flatMap(reference);
    assert.deepEqual(joinPerFrame(calls, expected), expected);
  });

  it('hands DATA payloads on as views of the pieces, not copies', T, () => {
    const piece = encodeFrame(FrameType.DATA, 1, Buffer.from('in place'));
    const views: Buffer[] = [];
    const decoder = new FrameDecoder(MAX_FRAME, (_type, _flags, _id, payload) =>
      views.push(payload),
    );
    decoder.push(piece);
    decoder.endMessage();
    assert.equal(views.length, 1);
    assert.equal(views[0]!.buffer, piece.buffer);
    assert.equal(views[0]!.byteOffset, piece.byteOffset + HEADER_SIZE);
  });

  it('delivers a control frame split across pieces whole, exactly once', T, () => {
    const routes = Array.from({ length: 200 }, (_, i) => ({ site: `site-${i}`, cost: i }));
    const frame = encodeControl({ kind: 'advert', routes });
    const payload = frame.subarray(HEADER_SIZE);
    assert.ok(payload.length > 2000, 'the cuts below fall inside the payload');
    const cuts = [
      [5, HEADER_SIZE, 1000, 2000],
      [HEADER_SIZE + 1, HEADER_SIZE + 2],
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, frame.length - 1],
    ];
    for (const points of cuts) {
      const pieces: Buffer[] = [];
      let from = 0;
      for (const to of [...points, frame.length]) {
        pieces.push(Buffer.from(frame.subarray(from, to)));
        from = to;
      }
      const { calls, decoder } = recorder();
      for (const piece of pieces) decoder.push(piece);
      decoder.endMessage();
      assert.equal(calls.length, 1, `one call for cuts at ${points}`);
      assert.equal(calls[0]!.type, FrameType.CONTROL);
      assert.ok(calls[0]!.payload.equals(payload), `whole payload for cuts at ${points}`);
    }
  });

  it('refuses at endMessage a message that ends inside a frame header', T, () => {
    const rand = seededRandom(5);
    const message = smallMessage();
    for (let cut = 1; cut < HEADER_SIZE; cut++) {
      const truncated = Buffer.concat([message, encodeFin(9).subarray(0, cut)]);
      const { calls, decoder } = recorder();
      for (const piece of randomChunks(truncated, rand)) decoder.push(piece);
      assert.throws(
        () => decoder.endMessage(),
        isProtocolError(new RegExp(`truncated frame header: ${cut} of ${HEADER_SIZE} bytes`)),
      );
      const expected = reference(message);
      assert.deepEqual(joinPerFrame(calls, expected), expected, 'frames before the cut');
    }
  });

  it('refuses at endMessage a message that ends inside a payload', T, () => {
    const rand = seededRandom(6);
    const data = encodeFrame(FrameType.DATA, 1, seededBytes(rand, 5000));
    const control = encodeControl({ kind: 'hello', site: 'west', padding: 'x'.repeat(500) });
    const cases: [Buffer, number, RegExp][] = [
      [data, HEADER_SIZE, /truncated DATA payload: 0 of 5000 bytes/],
      [data, HEADER_SIZE + 100, /truncated DATA payload: 100 of 5000 bytes/],
      [data, data.length - 1, /truncated DATA payload: 4999 of 5000 bytes/],
      [control, HEADER_SIZE + 1, /truncated CONTROL payload: 1 of \d+ bytes/],
      [control, control.length - 1, /truncated CONTROL payload: \d+ of \d+ bytes/],
    ];
    for (const [frame, cut, pattern] of cases) {
      for (const pieces of [[frame.subarray(0, cut)], randomChunks(frame.subarray(0, cut), rand)]) {
        const { calls, decoder } = recorder();
        for (const piece of pieces) decoder.push(piece);
        assert.throws(() => decoder.endMessage(), isProtocolError(pattern));
        assert.ok(
          calls.every((call) => call.type === FrameType.DATA),
          'no part of a cut control frame was delivered',
        );
      }
    }
  });

  it('checks a header that arrives in pieces as strictly as a whole one', T, () => {
    const unknownType = encodeFrame(FrameType.DATA, 1, Buffer.from('x'));
    unknownType[0] = 42;
    const reserved = encodeFrame(FrameType.DATA, 1, Buffer.from('x'));
    reserved[3] = 1;
    const tooBig = Buffer.alloc(HEADER_SIZE);
    writeHeader(tooBig, 0, FrameType.DATA, 1, MAX_FRAME + 1);
    const linkFrameOnStream = encodeFrame(FrameType.PING, 3, Buffer.alloc(8));
    const cases: [Buffer, RegExp][] = [
      [unknownType, /unknown frame type 42/],
      [reserved, /reserved header field/],
      [tooBig, /exceeds maxFrameSize/],
      [linkFrameOnStream, /PING frame on stream 3/],
    ];
    for (const [bytes, pattern] of cases) {
      const { decoder } = recorder();
      assert.throws(() => {
        for (const piece of byteChunks(bytes)) decoder.push(piece);
      }, isProtocolError(pattern));
    }
  });
});
