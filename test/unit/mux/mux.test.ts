import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSkiffError, type SkiffError } from '../../../src/errors.js';
import { dataFloor, StreamState } from '../../../src/mux/stream.js';
import { decodeCodeReason } from '../../../src/protocol/decode.js';
import {
  encodeFin,
  encodeFrame,
  encodeOpen,
  encodeReset,
  encodeWindow,
  writeHeader,
} from '../../../src/protocol/encode.js';
import { FrameType, ResetCode } from '../../../src/protocol/frame.js';
import { acceptAll, memoryPair, openWith, Recorder, rawPeer, turns, until } from './wire.js';

function data(streamId: number, payload: Buffer | string): Buffer {
  return encodeFrame(FrameType.DATA, streamId, Buffer.from(payload));
}

describe('streams over a pair of muxes', () => {
  it('opens a stream: OPEN carries the address and window, OPEN_OK grants send credit', async () => {
    const { a, b, settings } = memoryPair();
    let offered: Record<string, unknown> | undefined;
    const accepted = acceptAll(b);
    const inner = b.onStream;
    b.onStream = (stream, open) => {
      offered = open;
      assert.equal(stream.state, StreamState.Accepting);
      inner(stream, open);
    };
    const { stream, rec } = openWith(a, 'api');
    assert.equal(stream.id, 1, 'the dialer opens odd ids');
    assert.equal(stream.state, StreamState.Opening);
    assert.equal(stream.write(Buffer.from('early')), false, 'no credit before OPEN_OK');
    await until(() => rec.opened === 1);
    assert.deepEqual(offered, {
      address: 'api',
      window: settings.streamWindow,
      floor: dataFloor(settings.streamWindow),
    });
    assert.equal(stream.state, StreamState.Open);
    await until(() => accepted[0]?.text() === 'early');
    assert.equal(rec.drains, 1, 'the early writer hears onDrain once credit arrives');
    const back = b.openStream({ address: 'x' }, new Recorder());
    assert.equal(back.id, 2, 'the acceptor opens even ids');
  });

  it('half-closes: the client ends its side and still reads the reply', async () => {
    const { a, b } = memoryPair();
    b.onStream = (stream) => {
      const rec = new Recorder();
      rec.stream = stream;
      rec.onEnd = () => {
        rec.ended++;
        stream.write(Buffer.from(`reply to ${rec.text()}`));
        stream.end();
      };
      stream.setHandler(rec);
      stream.accept();
    };
    const { stream, rec } = openWith(a);
    stream.write(Buffer.from('request'));
    stream.end();
    assert.equal(stream.state, StreamState.Opening, 'end() before OPEN_OK waits for it');
    await until(() => rec.closed === 1);
    assert.equal(rec.text(), 'reply to request');
    assert.equal(rec.ended, 1);
    assert.deepEqual(rec.resets, []);
    assert.equal(a.streamCount, 0);
    await until(() => b.streamCount === 0);
  });

  it('half-closes the other way: the server ends first and keeps receiving', async () => {
    const { a, b } = memoryPair();
    const server = new Recorder();
    b.onStream = (stream) => {
      server.stream = stream;
      stream.setHandler(server);
      stream.accept();
      stream.write(Buffer.from('banner'));
      stream.end();
    };
    const { stream, rec } = openWith(a);
    await until(() => rec.ended === 1);
    assert.equal(rec.text(), 'banner');
    assert.equal(stream.state, StreamState.RemoteEnded);
    for (let i = 0; i < 5; i++) stream.write(Buffer.from(`line ${i};`));
    await until(() => server.bytes === 35);
    assert.equal(server.closed, 0, 'the server side is still open for reading');
    stream.end();
    await until(() => server.closed === 1 && rec.closed === 1);
    assert.equal(server.text(), 'line 0;line 1;line 2;line 3;line 4;');
    assert.equal(server.ended, 1);
  });

  it('keeps a stream until received data is consumed, then closes it', async () => {
    const { a, b, meterB } = memoryPair();
    const server = new Recorder();
    server.autoConsume = false;
    b.onStream = (stream) => {
      server.stream = stream;
      stream.setHandler(server);
      stream.accept();
      stream.end();
    };
    const { stream, rec } = openWith(a);
    stream.write(Buffer.from('0123456789'));
    stream.end();
    await until(() => server.ended === 1 && rec.closed === 1);
    assert.equal(b.streamCount, 1);
    // 10 bytes in one frame are charged the floor (1 KiB with the default window).
    assert.equal(server.stream!.bufferedBytes, 1024);
    assert.equal(meterB.current, 1024);
    server.stream!.consumed(4);
    assert.equal(server.closed, 0);
    server.stream!.consumed(6);
    assert.equal(server.closed, 1);
    assert.equal(b.streamCount, 0);
    assert.equal(meterB.current, 0);
  });

  it('propagates a reset with its code and reason, both directions, and refusals', async () => {
    const { a, b } = memoryPair();
    const accepted = acceptAll(b);
    const one = openWith(a);
    await until(() => one.rec.opened === 1);
    accepted[0]!.stream!.reset(ResetCode.ABORTED, 'target went away');
    await until(() => one.rec.resets.length === 1);
    assert.deepEqual(one.rec.resets, [[ResetCode.ABORTED, 'target went away']]);
    assert.equal(one.rec.closed, 1);
    assert.equal(one.stream.state, StreamState.Closed);
    assert.equal(one.stream.write(Buffer.from('x')), false, 'writes after reset are refused');

    const two = openWith(a);
    await until(() => two.rec.opened === 1);
    two.stream.write(Buffer.from('some data'));
    two.stream.reset(ResetCode.TIMEOUT, 'client gave up');
    await until(() => accepted[1]!.resets.length === 1);
    assert.deepEqual(accepted[1]!.resets, [[ResetCode.TIMEOUT, 'client gave up']]);
    assert.equal(two.rec.resets.length, 0, 'a local reset is not reported back to its caller');

    b.onStream = (stream) => stream.reset(ResetCode.REFUSED, 'connection refused');
    const three = openWith(a);
    await until(() => three.rec.resets.length === 1);
    assert.deepEqual(three.rec.resets, [[ResetCode.REFUSED, 'connection refused']]);
    assert.equal(three.rec.opened, 0);
    await turns();
    assert.equal(a.streamCount, 0);
    assert.equal(b.streamCount, 0);
  });

  it('carries 500 concurrent streams with distinct payloads', { timeout: 30_000 }, async () => {
    const { a, b, meterA, meterB } = memoryPair({ streamWindow: 16 * 1024 });
    b.onStream = (stream) => {
      // Echo server: writes back what it reads, then FIN after the client's FIN.
      stream.setHandler({
        onOpen() {},
        onData(chunk) {
          stream.write(chunk);
          stream.consumed(chunk.length);
        },
        onEnd() {
          stream.end();
        },
        onReset() {},
        onDrain() {},
      });
      stream.accept();
    };
    const clients: { payload: Buffer; rec: Recorder }[] = [];
    for (let i = 0; i < 500; i++) {
      const payload = Buffer.alloc(1000 + ((i * 7919) % 40_000), `stream ${i} says hello;`);
      const { stream, rec } = openWith(a, `svc-${i % 7}`);
      stream.write(payload);
      stream.end();
      clients.push({ payload, rec });
    }
    assert.equal(a.streamCount, 500);
    await until(() => clients.every((c) => c.rec.closed === 1), 25_000, 'all streams done');
    for (const { payload, rec } of clients) {
      assert.ok(Buffer.concat(rec.chunks).equals(payload));
      assert.equal(rec.ended, 1);
    }
    await until(() => b.streamCount === 0);
    await turns();
    assert.equal(meterA.current, 0);
    assert.equal(meterB.current, 0);
  });

  it('enforces maxStreamsPerLink: the extra OPEN is reset with LIMIT, the hook not called', async () => {
    const { a, b } = memoryPair({ maxStreamsPerLink: 100 }, { maxStreamsPerLink: 3 });
    let offered = 0;
    const accepted = acceptAll(b);
    const inner = b.onStream;
    b.onStream = (stream, open) => {
      offered++;
      inner(stream, open);
    };
    const opened = [1, 2, 3, 4, 5].map(() => openWith(a));
    await until(() => opened.filter((o) => o.rec.resets.length === 1).length === 2);
    assert.equal(offered, 3);
    assert.equal(accepted.length, 3);
    for (const o of opened.slice(3)) assert.equal(o.rec.resets[0]![0], ResetCode.LIMIT);
    assert.equal(b.streamCount, 3);
    assert.equal(a.streamCount, 3);

    // Closing one makes room again.
    opened[0]!.stream.reset(ResetCode.ABORTED, 'done');
    await until(() => b.streamCount === 2);
    const sixth = openWith(a);
    await until(() => sixth.rec.opened === 1);
    assert.equal(offered, 4);
  });

  it('refuses a local open beyond the limit on the next turn, without touching the wire', async () => {
    const { a } = memoryPair({ maxStreamsPerLink: 1 });
    openWith(a);
    const second = openWith(a);
    assert.equal(second.stream.state, StreamState.Closed);
    assert.equal(second.rec.resets.length, 0, 'not synchronously');
    await turns(1);
    assert.equal(second.rec.resets[0]![0], ResetCode.LIMIT);
    assert.equal(second.rec.closed, 1);
  });

  it('close() resets every stream once with the code, empties the table, ignores later sends', async () => {
    const { a, b, meterA } = memoryPair();
    acceptAll(b);
    const streams = [openWith(a), openWith(a), openWith(a)];
    await until(() => streams.every((s) => s.rec.opened === 1));
    streams[0]!.stream.write(Buffer.alloc(1000));
    a.close(ResetCode.LINK_LOST, 'connection lost');
    a.close(ResetCode.LINK_LOST, 'again');
    for (const { rec } of streams) {
      assert.deepEqual(rec.resets, [[ResetCode.LINK_LOST, 'connection lost']]);
      assert.equal(rec.closed, 1);
    }
    assert.equal(a.streamCount, 0);
    assert.equal(meterA.current, 0);
    assert.equal(streams[1]!.stream.write(Buffer.from('x')), false);
    a.sendControl({ type: 'ignored' });
    a.ping();
    const late = openWith(a);
    await turns(1);
    assert.equal(late.rec.resets[0]![0], ResetCode.LINK_LOST);
    assert.deepEqual(a.stats(), { streams: 0, queuedBytes: 0, inflightBytes: 0 });
  });

  it('answers PING with PONG and reports the RTT; delivers CONTROL messages', async () => {
    const { a, b } = memoryPair();
    const rtts: number[] = [];
    a.onRtt = (ms) => rtts.push(ms);
    const controls: unknown[] = [];
    b.onControl = (msg) => controls.push(msg);
    const before = b.lastActivity;
    await new Promise((resolve) => setTimeout(resolve, 5));
    a.ping();
    a.sendControl({ type: 'hello', siteId: 's1' });
    await until(() => rtts.length === 1 && controls.length === 1);
    assert.ok(rtts[0]! >= 0 && rtts[0]! < 1000);
    assert.deepEqual(controls, [{ type: 'hello', siteId: 's1' }]);
    assert.ok(b.lastActivity > before);
  });

  it('GOAWAY: the peer hears it, and neither side opens new streams', async () => {
    const { a, b } = memoryPair();
    const accepted = acceptAll(b);
    const existing = openWith(a);
    await until(() => existing.rec.opened === 1);
    let heard: [number, string] | undefined;
    a.onGoAway = (code, reason) => {
      heard = [code, reason];
    };
    b.goAway(ResetCode.SHUTDOWN, 'router stopping');
    await until(() => heard !== undefined);
    assert.deepEqual(heard, [ResetCode.SHUTDOWN, 'router stopping']);
    const refused = openWith(a);
    await turns(1);
    assert.equal(refused.rec.resets[0]![0], ResetCode.SHUTDOWN);
    // Streams already open go on.
    existing.stream.write(Buffer.from('still here'));
    await until(() => accepted[0]!.text() === 'still here');
  });
});

describe('link-level backpressure', () => {
  it('write() returns false while the link is congested; control frames lead the next message; onDrain after', async () => {
    const hw = 64 * 1024;
    const peer = rawPeer(
      { linkHighWater: hw, maxFrameSize: 16 * 1024, maxMessageSize: 32 * 1024 },
      'dialer',
      {
        holdCallbacks: true,
      },
    );
    const rec = new Recorder();
    const stream = peer.mux.openStream({ address: 'x' }, rec);
    rec.stream = stream;
    peer.inject(encodeFrame(FrameType.OPEN_OK, 1, Buffer.from('{"window":10000000}')));
    assert.equal(rec.opened, 1);
    let writes = 0;
    while (stream.write(Buffer.alloc(8 * 1024, writes))) writes++;
    assert.ok(writes * 8 * 1024 >= hw - 8 * 1024, `stopped after ${writes} writes`);
    await turns();
    const { inflightBytes } = peer.mux.stats();
    assert.ok(inflightBytes <= hw + 32 * 1024, `inflight ${inflightBytes}`);
    assert.ok(peer.mux.stats().queuedBytes > 0, 'the rest waits in the stream');
    // DATA stops at linkHighWater (two 32 KiB messages); a PING is not held back by that
    // and goes as a third message. The transport then holds its limit of three messages, so
    // a second PING waits for the next message and leads it, ahead of the queued DATA.
    assert.equal(peer.messages.length, 2);
    peer.mux.ping();
    await turns();
    assert.equal(peer.messages.length, 3);
    assert.equal(peer.frames.at(-1)!.type, FrameType.PING);
    peer.mux.ping();
    await turns();
    assert.equal(peer.messages.length, 3);
    const before = peer.frames.length;
    peer.held.shift()!();
    await turns();
    assert.equal(peer.messages.length, 4);
    assert.equal(peer.frames[before]!.type, FrameType.PING);
    assert.equal(rec.drains, 0);
    // The socket takes everything: the writer hears onDrain once.
    while (peer.held.length > 0) {
      peer.held.shift()!();
      await turns(1);
    }
    await until(() => rec.drains === 1);
    assert.equal(peer.mux.stats().inflightBytes + peer.mux.stats().queuedBytes, 0);
    const total = peer.frames
      .filter((f) => f.type === FrameType.DATA)
      .reduce((n, f) => n + f.payload.length, 0);
    assert.equal(total, (writes + 1) * 8 * 1024);
    for (const m of peer.messages) assert.ok(m.length <= 32 * 1024);
  });
});

describe('a mux facing a raw peer', () => {
  function expectFatal(peer: ReturnType<typeof rawPeer>): SkiffError[] {
    const errors: SkiffError[] = [];
    peer.mux.onFatal = (err) => errors.push(err);
    return errors;
  }

  it('treats an oversized DATA frame as a link protocol error (onFatal, GOAWAY PROTOCOL)', async () => {
    const peer = rawPeer({ maxFrameSize: 1024 });
    const errors = expectFatal(peer);
    peer.inject(encodeOpen(1, { address: 'x', window: 4096 }));
    const big = Buffer.alloc(12 + 1025);
    writeHeader(big, 0, FrameType.DATA, 1, 1025);
    assert.doesNotThrow(() => peer.inject(big));
    assert.equal(errors.length, 1);
    assert.ok(isSkiffError(errors[0], 'SKIFF_ERR_PROTOCOL'));
    assert.match(errors[0]!.message, /exceeds maxFrameSize/);
    await turns();
    const goAway = peer.frames.find((f) => f.type === FrameType.GOAWAY)!;
    assert.equal(decodeCodeReason(goAway.payload).code, ResetCode.PROTOCOL);
    peer.inject(data(1, 'ignored after the failure'));
    assert.equal(errors.length, 1);
  });

  it('resets a stream whose peer sends DATA beyond its credit (PROTOCOL); the link lives', async () => {
    const peer = rawPeer({ streamWindow: 4096 });
    const errors = expectFatal(peer);
    const server = new Recorder();
    peer.mux.onStream = (stream) => {
      server.stream = stream;
      server.autoConsume = false;
      stream.setHandler(server);
      stream.accept();
    };
    peer.inject(encodeOpen(1, { address: 'x', window: 65536 }));
    await turns();
    const ok = peer.frames.find((f) => f.type === FrameType.OPEN_OK)!;
    assert.deepEqual(JSON.parse(ok.payload.toString()), { window: 4096, floor: 512 });
    peer.inject(Buffer.concat([data(1, Buffer.alloc(3584)), data(1, Buffer.alloc(512))]));
    assert.equal(server.bytes, 4096, 'exactly the window is accepted');
    peer.inject(data(1, 'x'));
    assert.equal(server.resets.length, 1);
    assert.equal(server.resets[0]![0], ResetCode.PROTOCOL);
    assert.equal(server.closed, 1);
    await turns();
    const reset = peer.frames.find((f) => f.type === FrameType.RESET)!;
    assert.equal(reset.streamId, 1);
    assert.equal(decodeCodeReason(reset.payload).code, ResetCode.PROTOCOL);
    assert.equal(peer.meter.current, 0, 'the reset stream released its bytes');
    // Late frames for the reset stream are ignored, and the link goes on.
    peer.inject(Buffer.concat([data(1, 'late'), encodeWindow(1, 10), encodeFin(1)]));
    assert.deepEqual(errors, []);
    peer.inject(encodeOpen(3, { address: 'y', window: 10 }));
    assert.equal(peer.mux.streamCount, 1);
  });

  it('grants credit back with WINDOW as data is consumed (batched at window/4)', async () => {
    const peer = rawPeer({ streamWindow: 8192, maxFrameSize: 1024 });
    const server = new Recorder();
    server.autoConsume = false;
    peer.mux.onStream = (stream) => {
      server.stream = stream;
      stream.setHandler(server);
      stream.accept();
    };
    peer.inject(encodeOpen(1, { address: 'x', window: 65536 }));
    await turns();
    peer.inject(data(1, Buffer.alloc(1024)));
    const windows = () => peer.frames.filter((f) => f.type === FrameType.WINDOW);
    server.stream!.consumed(1024);
    await turns();
    assert.equal(windows().length, 0, 'under a quarter window: no WINDOW yet');
    server.stream!.consumed(5000); // more than was received: clamped
    peer.inject(data(1, Buffer.alloc(1024)));
    server.stream!.consumed(1024);
    await turns();
    assert.deepEqual(
      windows().map((f) => f.payload.readUInt32BE(0)),
      [2048],
    );
    // The peer spends the rest of its credit: now any full frame's worth goes back at once.
    for (let i = 0; i < 8; i++) peer.inject(data(1, Buffer.alloc(1024)));
    assert.equal(server.resets.length, 0);
    server.stream!.consumed(1024);
    await turns();
    assert.deepEqual(
      windows().map((f) => f.payload.readUInt32BE(0)),
      [2048, 1024],
    );
  });

  it('fails the link on frames for streams that never existed and on out-of-order OPEN', () => {
    const peer = rawPeer();
    const errors = expectFatal(peer);
    peer.inject(data(7, 'who?'));
    assert.match(errors[0]!.message, /stream 7, which was never opened/);

    const other = rawPeer();
    const errors2 = expectFatal(other);
    other.mux.onStream = (s) => s.accept();
    other.inject(encodeOpen(5, { address: 'x', window: 1 }));
    other.inject(encodeOpen(3, { address: 'x', window: 1 }));
    assert.match(errors2[0]!.message, /not increasing/);

    const third = rawPeer();
    const errors3 = expectFatal(third);
    third.inject(encodeOpen(2, { address: 'x', window: 1 }));
    assert.match(errors3[0]!.message, /wrong parity/);
  });

  it('resets a stream that sends DATA after FIN, and refuses a malformed OPEN', async () => {
    const peer = rawPeer();
    const errors = expectFatal(peer);
    const server = new Recorder();
    peer.mux.onStream = (stream) => {
      server.stream = stream;
      stream.setHandler(server);
      stream.accept();
    };
    peer.inject(encodeOpen(1, { address: 'x', window: 100 }));
    await turns();
    peer.inject(Buffer.concat([data(1, 'a'), encodeFin(1), data(1, 'b')]));
    assert.equal(server.ended, 1);
    assert.equal(server.resets[0]![0], ResetCode.PROTOCOL);
    assert.match(server.resets[0]![1], /DATA after FIN/);

    peer.inject(encodeFrame(FrameType.OPEN, 3, Buffer.from('{"window":1}')));
    await turns();
    const resets = peer.frames.filter((f) => f.type === FrameType.RESET);
    assert.deepEqual(
      resets.map((f) => [f.streamId, decodeCodeReason(f.payload).code]),
      [
        [1, ResetCode.PROTOCOL],
        [3, ResetCode.PROTOCOL],
      ],
    );
    assert.deepEqual(errors, []);
  });

  it('splits a large write into frames of at most maxFrameSize and coalesces small ones', async () => {
    const peer = rawPeer({ maxFrameSize: 1024, maxMessageSize: 4096 }, 'dialer');
    const rec = new Recorder();
    const stream = peer.mux.openStream({ address: 'x' }, rec);
    peer.inject(encodeFrame(FrameType.OPEN_OK, 1, Buffer.from('{"window":100000}')));
    const big = Buffer.alloc(5000, 1);
    stream.write(big);
    for (let i = 0; i < 10; i++) stream.write(Buffer.from('0123456789'));
    stream.end();
    await turns();
    const frames = peer.frames.filter((f) => f.streamId === 1 && f.type !== FrameType.OPEN);
    const sizes = frames.map((f) => (f.type === FrameType.DATA ? f.payload.length : `t${f.type}`));
    assert.ok(
      frames.filter((f) => f.type === FrameType.DATA).every((f) => f.payload.length <= 1024),
    );
    assert.equal(sizes.at(-1), `t${FrameType.FIN}`, `FIN comes last: ${sizes}`);
    const sent = Buffer.concat(
      frames.filter((f) => f.type === FrameType.DATA).map((f) => f.payload),
    );
    assert.ok(sent.equals(Buffer.concat([big, Buffer.from('0123456789'.repeat(10))])));
    assert.ok(peer.messages.length <= 3, `${peer.messages.length} messages`);
    for (const m of peer.messages) assert.ok(m.length <= 4096);
    // The peer resets: queued nothing, the handler hears it.
    peer.inject(encodeReset(1, ResetCode.ABORTED, 'bye'));
    assert.deepEqual(rec.resets, [[ResetCode.ABORTED, 'bye']]);
  });

  it('cuts DATA frames to the peer maxFrameSize once told; WINDOW before OPEN_OK resets', async () => {
    const peer = rawPeer({ maxFrameSize: 4096 }, 'dialer');
    peer.mux.setPeerMaxFrameSize(1500);
    const stream = peer.mux.openStream({ address: 'x' }, new Recorder());
    peer.inject(encodeFrame(FrameType.OPEN_OK, 1, Buffer.from('{"window":100000}')));
    stream.write(Buffer.alloc(4000));
    await turns();
    const sizes = peer.frames.filter((f) => f.type === FrameType.DATA).map((f) => f.payload.length);
    assert.deepEqual(sizes, [1500, 1500, 1000]);

    const rec = new Recorder();
    peer.mux.openStream({ address: 'y' }, rec);
    peer.inject(encodeWindow(3, 100));
    assert.equal(rec.resets[0]![0], ResetCode.PROTOCOL);
  });
});
