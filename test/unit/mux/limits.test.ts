/**
 * Issue 9 points 4-6 at the mux: per-link rate limits, the DATA charge floor, deferred
 * onStream, and pausing reads while replies pile up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSkiffError, type SkiffError } from '../../../src/errors.js';
import { TokenBucket } from '../../../src/mux/rate.js';
import { dataFloor, readyFor } from '../../../src/mux/stream.js';
import { decodeCodeReason } from '../../../src/protocol/decode.js';
import { encodeFrame, encodeOpen, encodePing, encodeReset } from '../../../src/protocol/encode.js';
import { FrameType, ResetCode } from '../../../src/protocol/frame.js';
import { memoryPair, openWith, Recorder, rawPeer, turns, until } from './wire.js';

function fatal(peer: ReturnType<typeof rawPeer>): SkiffError[] {
  const errors: SkiffError[] = [];
  peer.mux.onFatal = (err) => errors.push(err);
  return errors;
}

describe('per-link rate limits', () => {
  it('a token bucket allows bursts of two seconds of its rate, then its rate', () => {
    const bucket = new TokenBucket(10, 0);
    let taken = 0;
    while (bucket.take(0)) taken++;
    assert.equal(taken, 20);
    assert.equal(bucket.take(50), false, 'half a token after 50 ms');
    assert.equal(bucket.take(100), true, 'one token after 100 ms');
    assert.equal(bucket.take(100), false);
  });

  it('closes the link (LIMIT, GOAWAY LIMIT) on PINGs beyond peerPingRate, answering those within', async () => {
    const peer = rawPeer({ peerPingRate: 5 });
    const errors = fatal(peer);
    const ping = encodePing(Buffer.alloc(8));
    for (let i = 0; i < 10; i++) peer.inject(ping);
    assert.equal(errors.length, 0);
    peer.inject(ping);
    assert.equal(errors.length, 1);
    assert.ok(isSkiffError(errors[0], 'SKIFF_ERR_LIMIT'));
    assert.match(errors[0]!.message, /5 PINGs per second \(setting peerPingRate\)/);
    await turns();
    assert.equal(peer.frames.filter((f) => f.type === FrameType.PONG).length, 10);
    const goAway = peer.frames.find((f) => f.type === FrameType.GOAWAY)!;
    assert.equal(decodeCodeReason(goAway.payload).code, ResetCode.LIMIT);
  });

  it('limits OPENs, RESETs, refused OPENs and CONTROL messages, each by its own setting', () => {
    const opens = rawPeer({ peerOpenRate: 3 });
    const e1 = fatal(opens);
    opens.mux.onStream = (s) => s.accept();
    for (let id = 1; id <= 13; id += 2) opens.inject(encodeOpen(id, { address: 'x', window: 1 }));
    assert.match(e1[0]!.message, /3 OPENs per second/);

    const resets = rawPeer({ peerResetRate: 2 });
    const e2 = fatal(resets);
    for (let id = 1; id <= 11; id += 2) {
      resets.inject(
        Buffer.concat([encodeOpen(id, { address: 'x', window: 1 }), encodeReset(id, 2, 'x')]),
      );
    }
    assert.match(e2[0]!.message, /2 RESETs per second/);

    const refused = rawPeer({ peerRefusedRate: 2 });
    const e3 = fatal(refused);
    const bad = Buffer.from('{"window":1}');
    for (let id = 1; id <= 11; id += 2) refused.inject(encodeFrame(FrameType.OPEN, id, bad));
    assert.match(e3[0]!.message, /2 refused OPENs per second/);

    const control = rawPeer({ peerControlRate: 1 });
    const e4 = fatal(control);
    control.mux.onControl = () => undefined;
    const msg = encodeFrame(FrameType.CONTROL, 0, Buffer.from('{"type":"x"}'));
    for (let i = 0; i < 3; i++) control.inject(msg);
    assert.match(e4[0]!.message, /1 CONTROL messages per second/);
  });

  it('never offers a stream the peer reset in the same batch (no dial for OPEN+RESET)', async () => {
    const peer = rawPeer();
    let offered = 0;
    peer.mux.onStream = (s) => {
      offered++;
      s.accept();
    };
    peer.inject(
      Buffer.concat([
        encodeOpen(1, { address: 'x', window: 1 }),
        encodeReset(1, ResetCode.ABORTED, 'gone'),
        encodeOpen(3, { address: 'y', window: 1 }),
      ]),
    );
    assert.equal(offered, 0, 'onStream runs after the batch');
    await turns();
    assert.equal(offered, 1, 'only the stream still open is offered');
    assert.equal(peer.mux.streamCount, 1);
  });
});

describe('the DATA charge floor', () => {
  it('readyFor keeps a floor of credit for the last frame and sends short queues whole', () => {
    assert.equal(readyFor(100, 5000, 0), 100);
    assert.equal(readyFor(9000, 5000, 0), 5000);
    assert.equal(readyFor(100, 1023, 1024), 0, 'a frame would cost more than the credit');
    assert.equal(readyFor(100, 1024, 1024), 100);
    assert.equal(readyFor(9000, 5000, 1024), 5000 - 1024);
    assert.equal(readyFor(9000, 1500, 1024), 1024);
    assert.equal(readyFor(3000, 10_000, 1024), 3000);
    assert.equal(dataFloor(2 * 1024 * 1024), 1024);
    assert.equal(dataFloor(4096), 512);
  });

  it('charges each DATA frame at least the floor: a window holds window/floor tiny frames', async () => {
    const peer = rawPeer({ streamWindow: 64 * 1024 });
    const server = new Recorder();
    server.autoConsume = false;
    peer.mux.onStream = (stream) => {
      server.stream = stream;
      stream.setHandler(server);
      stream.accept();
    };
    peer.inject(encodeOpen(1, { address: 'x', window: 65536 }));
    await turns();
    const floor = dataFloor(64 * 1024);
    const one = encodeFrame(FrameType.DATA, 1, Buffer.from('x'));
    const empty = encodeFrame(FrameType.DATA, 1, Buffer.alloc(0));
    peer.inject(Buffer.concat(Array.from({ length: (64 * 1024) / floor - 1 }, () => one)));
    assert.equal(server.bytes, 63);
    assert.equal(peer.meter.current, 63 * floor, 'the meter counts the charge');
    peer.inject(empty); // an empty frame is charged too: the window is now spent
    assert.equal(server.resets.length, 0);
    peer.inject(one);
    assert.equal(server.resets[0]![0], ResetCode.PROTOCOL);
    assert.match(server.resets[0]![1], /charged 1024/);
    assert.equal(peer.meter.current, 0);
  });

  it('conserves credit: many tiny writes and a slow consumer arrive whole, never over credit', async () => {
    const { a, b } = memoryPair({ streamWindow: 16 * 1024 });
    const server = new Recorder();
    server.autoConsume = false;
    b.onStream = (stream) => {
      server.stream = stream;
      stream.setHandler(server);
      stream.accept();
    };
    const { stream } = openWith(a);
    const expected: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const piece = Buffer.from(`${i},`);
      expected.push(piece);
      stream.write(piece);
      if (i % 50 === 0) await turns(1);
      if (server.stream && server.bytes > 0 && i % 7 === 0) server.stream.consumed(5);
    }
    stream.end();
    const total = Buffer.concat(expected).length;
    await until(() => {
      server.stream?.consumed(1 << 20);
      return server.bytes === total;
    });
    assert.equal(server.resets.length, 0);
    assert.ok(Buffer.concat(server.chunks).equals(Buffer.concat(expected)));
  });
});

describe('pausing reads while replies pile up', () => {
  it('pauses when non-DATA bytes held exceed linkHighWater, resumes below half; sends count as activity', async () => {
    const hw = 64 * 1024;
    const peer = rawPeer({ linkHighWater: hw, peerPingRate: 1_000_000 }, 'acceptor', {
      holdCallbacks: true,
    });
    const ping = encodePing(Buffer.alloc(8));
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
    for (let i = 0; i < 5; i++) peer.inject(batch); // 5000 PONGs = 100 KB of replies
    assert.deepEqual(peer.reading, ['pause']);
    await turns();
    peer.mux.lastActivity = 0;
    while (peer.held.length > 0) {
      peer.held.shift()!();
      await turns(1);
    }
    assert.deepEqual(peer.reading, ['pause', 'resume']);
    assert.ok(peer.mux.lastActivity > 0, 'the peer took our bytes: it is alive');
    assert.equal(peer.frames.filter((f) => f.type === FrameType.PONG).length, 5000);
  });
});
