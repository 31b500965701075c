import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SkiffError } from '../../../src/errors.js';
import {
  encodeControl,
  encodeFin,
  encodeFrame,
  encodeOpen,
  encodeOpenOk,
  encodePing,
  encodeReset,
  encodeWindow,
  writeHeader,
} from '../../../src/protocol/encode.js';
import { FrameType, HEADER_SIZE, MAX_FRAME_TYPE } from '../../../src/protocol/frame.js';
import { seededBytes, seededRandom } from '../../helpers/random.js';
import { Recorder, rawPeer, turns } from './wire.js';

// A linked peer is authenticated but not trusted: whatever bytes it sends, the mux either
// goes on or fails the link with a PROTOCOL error (the peer's fault). An INTERNAL error,
// an exception out of receive(), more streams than the limit or more buffered bytes than
// the windows allow would each be a bug a hostile peer could use.

const SEQUENCES = 2000;
const LIMITS = { maxFrameSize: 1024, streamWindow: 4096, maxStreamsPerLink: 8 };

type Rand = () => number;
const int = (rand: Rand, n: number) => Math.floor(rand() * n);

/** The peer's streams so far: it dials, so they are odd and increasing. */
interface PeerState {
  nextId: number;
  opened: number[];
}

/**
 * A well-formed frame most of the time, on a stream the peer opened (whatever that
 * stream's state), now and then on an id it may not use, or junk.
 */
function frame(rand: Rand, peer: PeerState): Buffer {
  if (peer.opened.length === 0 || rand() < 0.12) {
    const id = peer.nextId;
    peer.nextId += 2;
    peer.opened.push(id);
    return encodeOpen(id, { address: 'api', window: int(rand, 10_000) });
  }
  const id =
    rand() < 0.93
      ? peer.opened[int(rand, peer.opened.length)]!
      : [0, 2, 0xffff_ffff][int(rand, 3)]!;
  const roll = rand();
  if (roll < 0.05) return encodeOpen(id, { address: 'api', window: int(rand, 10_000) });
  if (roll < 0.5) return encodeFrame(FrameType.DATA, id, seededBytes(rand, int(rand, 1100)));
  if (roll < 0.6) return encodeWindow(id, int(rand, 2 ** 32));
  if (roll < 0.67) return encodeFin(id);
  if (roll < 0.72) return encodeReset(id, int(rand, 2 ** 32), 'x'.repeat(int(rand, 50)));
  if (roll < 0.77) return encodeOpenOk((id + 1) >>> 0, int(rand, 2 ** 32));
  if (roll < 0.82) return encodePing(seededBytes(rand, 8));
  if (roll < 0.87) return encodeControl({ kind: ['advert', 'hello', 'odd'][int(rand, 3)] });
  if (roll < 0.9) return encodeFrame(FrameType.OPEN, id, seededBytes(rand, 2 + int(rand, 40)));
  if (roll < 0.95) {
    const payload = seededBytes(rand, int(rand, 64));
    const buf = Buffer.alloc(HEADER_SIZE + payload.length);
    writeHeader(buf, 0, int(rand, MAX_FRAME_TYPE + 3), id, payload.length);
    payload.copy(buf, HEADER_SIZE);
    return buf;
  }
  return seededBytes(rand, 1 + int(rand, 30));
}

/** Some messages get a few bytes flipped or are cut short. */
function mangle(message: Buffer, rand: Rand): Buffer {
  const roll = rand();
  if (roll < 0.05 && message.length > 0) {
    for (let i = 0; i < 1 + int(rand, 4); i++) message[int(rand, message.length)] = int(rand, 256);
  } else if (roll < 0.1) {
    return message.subarray(0, int(rand, message.length + 1));
  }
  return message;
}

describe('a hostile peer', () => {
  it('gets PROTOCOL failures or nothing, never a crash, extra streams or unbounded buffers', {
    timeout: 60_000,
  }, async (t) => {
    const seen = { sequences: 0, protocolFailures: 0, streamsOpened: 0, framesSent: 0 };
    for (let seed = 1; seed <= SEQUENCES; seed++) {
      const rand = seededRandom(seed);
      const peer = rawPeer(LIMITS);
      const fatal: SkiffError[] = [];
      peer.mux.onFatal = (err) => fatal.push(err);
      let open = 0;
      peer.mux.onStream = (stream) => {
        const recorder = new Recorder();
        recorder.autoConsume = rand() < 0.5;
        recorder.stream = stream;
        stream.setHandler(recorder);
        if (rand() < 0.8) stream.accept();
        else stream.reset(1, 'no');
        open++;
      };
      const state: PeerState = { nextId: 1, opened: [] };
      for (let m = 0; m < 1 + int(rand, 12) && fatal.length === 0; m++) {
        const frames = Array.from({ length: 1 + int(rand, 4) }, () => frame(rand, state));
        seen.framesSent += frames.length;
        const message = mangle(Buffer.concat(frames), rand);
        // Pieces, as TLS reads cut a WebSocket message.
        let off = 0;
        while (off < message.length || off === 0) {
          const end = Math.min(message.length, off + 1 + int(rand, 200));
          assert.doesNotThrow(
            () => peer.mux.receive(message, off, end, end === message.length),
            `seed ${seed}: receive threw`,
          );
          off = end;
          if (message.length === 0) break;
        }
        await turns(1);
      }
      for (const err of fatal) {
        assert.equal(err.code, 'SKIFF_ERR_PROTOCOL', `seed ${seed}: ${err.code} ${err.message}`);
      }
      const { streams } = peer.mux.stats();
      assert.ok(streams <= LIMITS.maxStreamsPerLink, `seed ${seed}: ${streams} streams open`);
      const bound = LIMITS.maxStreamsPerLink * LIMITS.streamWindow;
      assert.ok(peer.meter.peak <= bound, `seed ${seed}: ${peer.meter.peak} bytes buffered`);
      seen.sequences++;
      seen.protocolFailures += fatal.length;
      seen.streamsOpened += open;
      peer.mux.close(0, 'done');
      await turns(1);
    }
    t.diagnostic(`hostile peer: ${JSON.stringify(seen)}`);
    // The generator must reach both outcomes, or the test proves little.
    assert.ok(seen.protocolFailures > SEQUENCES / 10, JSON.stringify(seen));
    assert.ok(seen.protocolFailures < SEQUENCES, JSON.stringify(seen));
    assert.ok(seen.streamsOpened > SEQUENCES / 4, JSON.stringify(seen));
  });
});
