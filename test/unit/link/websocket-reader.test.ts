import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../../src/errors.js';
import { Opcode } from '../../../src/link/websocket/frames.js';
import {
  CloseStatus,
  WebSocketProtocolError,
  WebSocketReader,
} from '../../../src/link/websocket/reader.js';
import { seededBytes, seededRandom } from '../../helpers/random.js';
import { byteChunks, randomChunks, splitAt } from '../../helpers/split.js';

// The link's own WebSocket reader, fed raw frames built here byte by byte and cut at every
// (or a seeded random) point: payloads come out whole and in order, masks are undone across
// chunk boundaries, fragments join, and every RFC 6455 violation it promises to reject is
// rejected with the right close status.

const T = { timeout: 20_000 };

// ---------------------------------------------------------------------------------------
// Raw frames, built independently of src/link/websocket/frames.ts.

interface RawFrame {
  opcode: number;
  payload?: Buffer;
  fin?: boolean;
  /** The three RSV bits as a number 0-7 (4 = RSV1). */
  rsv?: number;
  /** A 4-byte masking key; none for an unmasked frame. */
  mask?: Buffer;
  /** Claims this length in the header instead of the payload's (the payload is not sent). */
  claimedLength?: bigint;
}

function rawFrame({
  opcode,
  payload = Buffer.alloc(0),
  fin = true,
  rsv = 0,
  mask,
  claimedLength,
}: RawFrame): Buffer {
  const length = claimedLength ?? BigInt(payload.length);
  const ext = length < 126n ? 0 : length < 65536n ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? Number(length) : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(Number(length), 2);
  if (ext === 8) head.writeBigUInt64BE(length, 2);
  if (claimedLength !== undefined) return head;
  const body = Buffer.from(payload);
  if (mask) {
    mask.copy(head, 2 + ext);
    for (let i = 0; i < body.length; i++) body[i] = body[i]! ^ mask[i & 3]!;
  }
  return Buffer.concat([head, body]);
}

/** Raw bytes written as hex, spaces allowed. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/ /g, ''), 'hex');
}

/** A non-zero masking key with no zero byte, so every payload byte really changes. */
function maskKey(rand: () => number): Buffer {
  return Buffer.from(Array.from({ length: 4 }, () => 1 + Math.floor(rand() * 255)));
}

/** What a reader reported, message by message. */
interface Seen {
  messages: Buffer[];
  controls: { opcode: number; payload: Buffer }[];
  /** 'data', 'last' and control opcodes in the order they were reported. */
  events: string[];
  /** Pieces of the message in progress (a finished message leaves none). */
  pending: Buffer[];
  /** Pieces that were empty without being the last: they should never be sent on. */
  emptyPieces: number;
}

function newReader(expectMasked: boolean, maxMessage = 1 << 20) {
  const seen: Seen = { messages: [], controls: [], events: [], pending: [], emptyPieces: 0 };
  const reader = new WebSocketReader(expectMasked, maxMessage, {
    onData(buf, start, end, last) {
      const piece = buf.subarray(start, end);
      if (!last && piece.length === 0) seen.emptyPieces++;
      seen.pending.push(piece);
      seen.events.push(last ? 'last' : 'data');
      if (last) {
        seen.messages.push(Buffer.concat(seen.pending));
        seen.pending = [];
      }
    },
    onControl(opcode, payload) {
      seen.controls.push({ opcode, payload: Buffer.from(payload) });
      seen.events.push(`control ${opcode}`);
    },
  });
  return { reader, seen };
}

/** Feeds chunks to a fresh reader; returns what it reported. */
function feed(expectMasked: boolean, chunks: Buffer[], maxMessage?: number): Seen {
  const { reader, seen } = newReader(expectMasked, maxMessage);
  for (const chunk of chunks) reader.push(chunk);
  return seen;
}

/** Messages arrived exactly as sent, each ended once, with nothing left over. */
function assertMessages(seen: Seen, payloads: Buffer[], what: string): void {
  assert.equal(seen.messages.length, payloads.length, `${what}: message count`);
  seen.messages.forEach((message, i) => {
    assert.ok(message.equals(payloads[i]!), `${what}: message ${i} (${payloads[i]!.length} bytes)`);
  });
  assert.equal(seen.pending.length, 0, `${what}: a message was left without its last piece`);
  assert.equal(seen.emptyPieces, 0, `${what}: empty non-final pieces`);
}

const SIZES = [0, 1, 125, 126, 65535, 65536, 300_000];
const SIDES = [
  { name: 'client reader, unmasked frames', expectMasked: false },
  { name: 'server reader, masked frames', expectMasked: true },
] as const;

describe('WebSocketReader', () => {
  for (const side of SIDES) {
    it(`${side.name}: every split point of small frames, the header region of big ones`, T, () => {
      const rand = seededRandom(7);
      for (const size of SIZES) {
        const payload = seededBytes(rand, size);
        const mask = side.expectMasked ? maskKey(rand) : undefined;
        const frame = rawFrame({ opcode: Opcode.BINARY, payload, mask });
        const points = size <= 126 ? frame.length : 20;
        for (let at = 0; at <= points; at++) {
          assertMessages(feed(side.expectMasked, splitAt(frame, at)), [payload], `${size} @${at}`);
        }
        if (size <= 126) {
          assertMessages(feed(side.expectMasked, byteChunks(frame)), [payload], `${size} bytewise`);
        }
      }
    });

    it(`${side.name}: a stream of messages cut at seeded random points`, T, () => {
      for (let seed = 1; seed <= 12; seed++) {
        const rand = seededRandom(seed);
        const payloads = SIZES.map((size) => seededBytes(rand, size));
        const frames = payloads.map((payload) =>
          rawFrame({
            opcode: Opcode.BINARY,
            payload,
            mask: side.expectMasked ? maskKey(rand) : undefined,
          }),
        );
        const chunks = randomChunks(Buffer.concat(frames), rand);
        assertMessages(feed(side.expectMasked, chunks), payloads, `seed ${seed}`);
      }
    });
  }

  it('undoes a non-zero mask in chunks that do not follow the 4-byte key', T, () => {
    const rand = seededRandom(99);
    const payload = seededBytes(rand, 300_000);
    const frame = rawFrame({
      opcode: Opcode.BINARY,
      payload,
      mask: Buffer.from([0x37, 0xfa, 0x21, 0x3d]),
    });
    const cuts = [1, 2, 3, 5, 7, 4093];
    const chunks: Buffer[] = [];
    for (let off = 0, i = 0; off < frame.length; i++) {
      const end = Math.min(off + cuts[i % cuts.length]!, frame.length);
      chunks.push(Buffer.from(frame.subarray(off, end)));
      off = end;
    }
    assertMessages(feed(true, chunks), [payload], 'odd cuts');
  });

  it('hands payload on as ranges of the chunks, not copies', T, () => {
    const chunk = rawFrame({ opcode: Opcode.BINARY, payload: Buffer.from('in place') });
    let piece: Buffer | undefined;
    const reader = new WebSocketReader(false, 1024, {
      onData: (buf, start, end) => {
        assert.equal(buf, chunk);
        piece = buf.subarray(start, end);
      },
      onControl: () => assert.fail('no control frame was sent'),
    });
    reader.push(chunk);
    assert.equal(piece?.buffer, chunk.buffer);
    assert.equal(piece?.toString(), 'in place');
  });

  for (const side of SIDES) {
    it(`${side.name}: a fragmented message with a ping between fragments is one message`, T, () => {
      const rand = seededRandom(3);
      const mask = () => (side.expectMasked ? maskKey(rand) : undefined);
      const stream = Buffer.concat([
        rawFrame({
          opcode: Opcode.BINARY,
          fin: false,
          payload: Buffer.from('frag-1 '),
          mask: mask(),
        }),
        rawFrame({ opcode: Opcode.CONTINUATION, fin: false, mask: mask() }),
        rawFrame({
          opcode: Opcode.CONTINUATION,
          fin: false,
          payload: Buffer.from('frag-2 '),
          mask: mask(),
        }),
        rawFrame({ opcode: Opcode.PING, payload: Buffer.from('are you there'), mask: mask() }),
        rawFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.from('frag-3'), mask: mask() }),
        rawFrame({ opcode: Opcode.BINARY, payload: Buffer.from('next'), mask: mask() }),
      ]);
      const cuts = [
        byteChunks(stream),
        ...Array.from({ length: stream.length + 1 }, (_, at) => splitAt(stream, at)),
      ];
      for (const chunks of cuts) {
        const seen = feed(side.expectMasked, chunks);
        const what = `${chunks.length} chunks, first ${chunks[0]!.length} bytes`;
        assertMessages(seen, [Buffer.from('frag-1 frag-2 frag-3'), Buffer.from('next')], what);
        assert.deepEqual(
          seen.controls,
          [{ opcode: Opcode.PING, payload: Buffer.from('are you there') }],
          what,
        );
        const ping = seen.events.indexOf(`control ${Opcode.PING}`);
        assert.ok(
          ping >= 0 && ping < seen.events.indexOf('last'),
          `${what}: ping inside the message`,
        );
      }
    });
  }

  it('reports close and pong frames, empty or not, with their payloads', T, () => {
    const stream = Buffer.concat([
      rawFrame({ opcode: Opcode.PONG }),
      rawFrame({ opcode: Opcode.PONG, payload: Buffer.from('abc') }),
      rawFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]) }),
    ]);
    const seen = feed(false, byteChunks(stream));
    assert.deepEqual(seen.controls, [
      { opcode: Opcode.PONG, payload: Buffer.alloc(0) },
      { opcode: Opcode.PONG, payload: Buffer.from('abc') },
      { opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]) },
    ]);
  });

  it('accepts every close code a peer may send, with a UTF-8 reason or none', T, () => {
    const codes = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014];
    for (const code of [...codes, 3000, 4001, 4999]) {
      const frame = hex(`880d ${code.toString(16).padStart(4, '0')} 68c3a9e282ac f09f9880 21`);
      const seen = feed(false, byteChunks(frame));
      assert.deepEqual(seen.controls, [{ opcode: Opcode.CLOSE, payload: frame.subarray(2) }]);
    }
    assert.deepEqual(feed(false, [hex('8800')]).controls, [
      { opcode: Opcode.CLOSE, payload: Buffer.alloc(0) },
    ]);
  });

  it('accepts a message of exactly maxMessage bytes, also in fragments', T, () => {
    const payload = randomBytes(1000);
    const whole = rawFrame({ opcode: Opcode.BINARY, payload });
    assertMessages(feed(false, [whole], 1000), [payload], 'one frame');
    const fragments = Buffer.concat([
      rawFrame({ opcode: Opcode.BINARY, fin: false, payload: payload.subarray(0, 600) }),
      rawFrame({ opcode: Opcode.CONTINUATION, payload: payload.subarray(600) }),
    ]);
    assertMessages(feed(false, [fragments], 1000), [payload], 'two fragments');
  });

  const key = Buffer.from([1, 2, 3, 4]);
  const binary = (payload: string, fin = true) =>
    rawFrame({ opcode: Opcode.BINARY, payload: Buffer.from(payload), fin });
  /** `passedBefore`: payload bytes of earlier, valid fragments that were rightly passed on. */
  const refusals: {
    name: string;
    expectMasked?: boolean;
    bytes: Buffer;
    status: number;
    passedBefore?: number;
  }[] = [
    {
      name: 'RSV1 set',
      bytes: rawFrame({ opcode: Opcode.BINARY, payload: Buffer.from('x'), rsv: 4 }),
      status: CloseStatus.PROTOCOL,
    },
    {
      name: 'RSV3 set',
      bytes: rawFrame({ opcode: Opcode.BINARY, payload: Buffer.from('x'), rsv: 1 }),
      status: CloseStatus.PROTOCOL,
    },
    {
      name: 'a text message',
      bytes: rawFrame({ opcode: Opcode.TEXT, payload: Buffer.from('hello') }),
      status: CloseStatus.UNSUPPORTED,
    },
    {
      name: 'an unmasked frame to the server',
      expectMasked: true,
      bytes: binary('x'),
      status: CloseStatus.PROTOCOL,
    },
    {
      name: 'a masked frame to the client',
      bytes: rawFrame({ opcode: Opcode.BINARY, payload: Buffer.from('x'), mask: key }),
      status: CloseStatus.PROTOCOL,
    },
    {
      name: 'a message over maxMessage',
      bytes: rawFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(1001) }),
      status: CloseStatus.TOO_BIG,
    },
    {
      name: 'fragments adding up to more than maxMessage',
      bytes: Buffer.concat([
        rawFrame({ opcode: Opcode.BINARY, fin: false, payload: Buffer.alloc(600) }),
        rawFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.alloc(401) }),
      ]),
      status: CloseStatus.TOO_BIG,
      passedBefore: 600,
    },
    {
      name: 'a length of 2^53 or more',
      bytes: rawFrame({ opcode: Opcode.BINARY, claimedLength: 2n ** 53n }),
      status: CloseStatus.TOO_BIG,
    },
    {
      name: 'a continuation without a message',
      bytes: rawFrame({ opcode: Opcode.CONTINUATION, payload: Buffer.from('x') }),
      status: CloseStatus.PROTOCOL,
    },
    {
      name: 'a continuation after a finished message',
      bytes: Buffer.concat([binary('done'), rawFrame({ opcode: Opcode.CONTINUATION })]),
      status: CloseStatus.PROTOCOL,
    },
    {
      name: 'a new binary message inside a fragmented one',
      bytes: Buffer.concat([binary('first', false), binary('second')]),
      status: CloseStatus.PROTOCOL,
      passedBefore: 5,
    },
    {
      name: 'a 126-byte control frame',
      bytes: rawFrame({ opcode: Opcode.PING, payload: Buffer.alloc(126) }),
      status: CloseStatus.PROTOCOL,
    },
    {
      name: 'a fragmented control frame',
      bytes: rawFrame({ opcode: Opcode.PING, payload: Buffer.from('x'), fin: false }),
      status: CloseStatus.PROTOCOL,
    },
    {
      name: 'unknown data opcode 0x3',
      bytes: rawFrame({ opcode: 0x3, payload: Buffer.from('x') }),
      status: CloseStatus.PROTOCOL,
    },
    {
      name: 'unknown control opcode 0xb',
      bytes: rawFrame({ opcode: 0xb }),
      status: CloseStatus.PROTOCOL,
    },
    // Close frames as raw hex (server to client, unmasked): 88, length, code, reason.
    { name: 'a close frame with a 1-byte payload', bytes: hex('8801 03'), status: 1002 },
    ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map((code) => ({
      name: `close code ${code}`,
      bytes: hex(`8802 ${code.toString(16).padStart(4, '0')}`),
      status: CloseStatus.PROTOCOL,
    })),
    { name: 'a close reason of a lone 0xff', bytes: hex('8803 03e8 ff'), status: 1007 },
    { name: 'a close reason cut inside a character', bytes: hex('8804 03e8 e282'), status: 1007 },
    { name: 'a close reason with a surrogate', bytes: hex('8805 03e8 eda080'), status: 1007 },
    { name: 'an overlong close reason', bytes: hex('8804 0fa1 c0af'), status: 1007 },
    {
      name: 'a masked close frame with code 1006 (to the server)',
      expectMasked: true,
      bytes: hex('8882 01020304 02ec'), // 1006 = 03ee, masked with 01 02
      status: CloseStatus.PROTOCOL,
    },
  ];

  for (const { name, expectMasked = false, bytes, status, passedBefore = 0 } of refusals) {
    it(`refuses ${name} with close status ${status}`, T, () => {
      for (const chunks of [[bytes], byteChunks(bytes)]) {
        const { reader, seen } = newReader(expectMasked, 1000);
        assert.throws(
          () => {
            for (const chunk of chunks) reader.push(chunk);
          },
          (err: unknown) =>
            err instanceof WebSocketProtocolError &&
            err.status === status &&
            err.code === ErrorCode.PROTOCOL,
        );
        const passedOn = seen.pending.reduce((sum, piece) => sum + piece.length, 0);
        assert.equal(passedOn, passedBefore, 'no payload of the refused frame was passed on');
      }
    });
  }

  it('gives a hostile peer a WebSocketProtocolError or valid events, nothing else', T, (t) => {
    const maxMessage = 4096;
    const opcodes = [0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb, 0xf];
    let refused = 0;
    let messages = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const rand = seededRandom(seed);
      const pick = <X>(xs: readonly X[]) => xs[Math.floor(rand() * xs.length)]!;
      const expectMasked = rand() < 0.5;
      // Messages as a peer should send them (fragments, pings between them, the right
      // masking), then broken in one way or another now and then.
      const frames: Buffer[] = [];
      for (let m = 0; m < 1 + Math.floor(rand() * 4); m++) {
        const parts = 1 + Math.floor(rand() * 3);
        for (let i = 0; i < parts; i++) {
          const hostile = rand() < 0.06;
          frames.push(
            rawFrame({
              opcode: hostile ? pick(opcodes) : i === 0 ? Opcode.BINARY : Opcode.CONTINUATION,
              payload: seededBytes(rand, pick([0, 1, 125, 126, 300, 1500, 5000])),
              fin: i === parts - 1,
              rsv: rand() < 0.03 ? 1 + Math.floor(rand() * 7) : 0,
              mask: rand() < 0.03 !== expectMasked ? seededBytes(rand, 4) : undefined,
            }),
          );
          if (rand() < 0.2)
            frames.push(rawFrame({ opcode: Opcode.PING, payload: seededBytes(rand, 8) }));
        }
      }
      const bytes = Buffer.concat(frames);
      if (rand() < 0.1) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      const { reader, seen } = newReader(expectMasked, maxMessage);
      try {
        for (const chunk of randomChunks(bytes, rand)) reader.push(chunk);
      } catch (err) {
        assert.ok(err instanceof WebSocketProtocolError, `seed ${seed}: ${String(err)}`);
        refused++;
      }
      const pending = seen.pending.reduce((n, piece) => n + piece.length, 0);
      for (const length of [...seen.messages.map((m) => m.length), pending]) {
        assert.ok(length <= maxMessage, `seed ${seed}: a ${length}-byte message`);
      }
      for (const control of seen.controls) {
        assert.ok(control.payload.length <= 125, `seed ${seed}: a long control frame`);
      }
      messages += seen.messages.length;
    }
    t.diagnostic(`hostile frames: ${refused} of 2000 refused, ${messages} messages delivered`);
    // Both outcomes must be common, or the generator tests little.
    assert.ok(refused > 200 && refused < 1800, `refused ${refused} of 2000`);
    assert.ok(messages > 200, `${messages} messages delivered`);
  });
});
