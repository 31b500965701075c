import { defaultSettings, type Settings } from '../../../src/config/settings.js';
import { silentLogger } from '../../../src/log.js';
import { BufferMeter } from '../../../src/mux/meter.js';
import { Mux } from '../../../src/mux/mux.js';
import type { MuxStream, StreamHandler } from '../../../src/mux/stream.js';
import type { MessageTransport } from '../../../src/mux/transport.js';
import { decodeFrames } from '../../../src/protocol/decode.js';

/** Test wiring for muxes: real Mux objects over in-memory transports. */

export interface Pair {
  a: Mux;
  b: Mux;
  meterA: BufferMeter;
  meterB: BufferMeter;
  settings: Settings;
}

/**
 * Two muxes joined back to back: a message sent by one is delivered to the other on the
 * next turn (setImmediate), and the sender's callback runs after delivery.
 *
 * With `headroom`, the transports act like the WebSocket one: they declare headroom (so
 * the outbox builds messages behind spare bytes and reuses pooled buffers after the
 * callback), copy what they are given as a socket would, and check at callback time that
 * the outbox did not touch the buffer while it was in flight (`reuseErrors`).
 */
export function memoryPair(
  overrides: Partial<Settings> = {},
  overridesB?: Partial<Settings>,
  { headroom }: { headroom?: number } = {},
): Pair & { reuseErrors: string[] } {
  const settings: Settings = { ...defaultSettings, ...overrides };
  const settingsB: Settings = { ...settings, ...overridesB };
  const meterA = new BufferMeter();
  const meterB = new BufferMeter();
  const holder: { a?: Mux; b?: Mux } = {};
  const reuseErrors: string[] = [];
  const transportTo = (peer: () => Mux): MessageTransport => {
    if (headroom === undefined) {
      return {
        send(message, cb) {
          setImmediate(() => {
            peer().receive(message);
            cb();
          });
        },
      };
    }
    return {
      headroom,
      send(message, cb, reserved = 0) {
        const copy = Buffer.from(message.subarray(reserved));
        setImmediate(() => {
          peer().receive(copy);
          if (!message.subarray(reserved).equals(copy)) {
            reuseErrors.push('message buffer changed while in flight');
          }
          cb();
        });
      },
    };
  };
  const toB = transportTo(() => holder.b!);
  const toA = transportTo(() => holder.a!);
  const common = { logger: silentLogger };
  holder.a = new Mux({
    ...common,
    transport: toB,
    role: 'dialer',
    settings,
    meter: meterA,
    linkId: 'a',
  });
  holder.b = new Mux({
    ...common,
    transport: toA,
    role: 'acceptor',
    settings: settingsB,
    meter: meterB,
    linkId: 'b',
  });
  return { a: holder.a, b: holder.b, meterA, meterB, settings, reuseErrors };
}

export interface RawFrame {
  type: number;
  streamId: number;
  payload: Buffer;
}

/**
 * A mux whose peer is the test itself: `frames` collects every frame the mux sends,
 * `inject` feeds raw bytes to it, and `held` callbacks let a test delay send completion.
 */
export function rawPeer(
  overrides: Partial<Settings> = {},
  role: 'dialer' | 'acceptor' = 'acceptor',
  opts: { holdCallbacks?: boolean } = {},
) {
  const settings: Settings = { ...defaultSettings, ...overrides };
  const frames: RawFrame[] = [];
  const messages: Buffer[] = [];
  const held: (() => void)[] = [];
  /** The mux's pauseReading/resumeReading calls, in order. */
  const reading: ('pause' | 'resume')[] = [];
  const transport: MessageTransport = {
    send(message, cb) {
      messages.push(message);
      decodeFrames(message, 1 << 30, (type, _flags, streamId, payload) => {
        frames.push({ type, streamId, payload: Buffer.from(payload) });
      });
      if (opts.holdCallbacks) held.push(() => cb());
      else setImmediate(() => cb());
    },
    pauseReading() {
      reading.push('pause');
    },
    resumeReading() {
      reading.push('resume');
    },
  };
  const meter = new BufferMeter();
  const mux = new Mux({ transport, role, settings, logger: silentLogger, meter, linkId: 'raw' });
  return {
    mux,
    meter,
    frames,
    messages,
    held,
    reading,
    settings,
    inject(message: Buffer) {
      mux.receive(message);
    },
  };
}

/** Waits for pending setImmediate work (several rounds, so send paths settle). */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Resolves once `check` holds, polling each turn; rejects after `ms`. */
export async function until(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A handler that records everything; consumes at once unless told otherwise. */
export class Recorder implements StreamHandler {
  chunks: Buffer[] = [];
  bytes = 0;
  opened = 0;
  ended = 0;
  drains = 0;
  closed = 0;
  resets: [number, string][] = [];
  stream: MuxStream | undefined;
  autoConsume = true;

  onOpen(): void {
    this.opened++;
  }
  onData(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
    this.bytes += chunk.length;
    if (this.autoConsume) this.stream?.consumed(chunk.length);
  }
  onEnd(): void {
    this.ended++;
  }
  onReset(code: number, reason: string): void {
    this.resets.push([code, reason]);
  }
  onDrain(): void {
    this.drains++;
  }
  onClose(): void {
    this.closed++;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

/** Makes `mux` accept every incoming stream with a Recorder; returns the recorders. */
export function acceptAll(mux: Mux): Recorder[] {
  const recorders: Recorder[] = [];
  mux.onStream = (stream) => {
    const rec = new Recorder();
    rec.stream = stream;
    stream.setHandler(rec);
    recorders.push(rec);
    stream.accept();
  };
  return recorders;
}

/** Opens a stream from `mux` with a Recorder bound to it. */
export function openWith(mux: Mux, address = 'svc'): { stream: MuxStream; rec: Recorder } {
  const rec = new Recorder();
  const stream = mux.openStream({ address }, rec);
  rec.stream = stream;
  return { stream, rec };
}
