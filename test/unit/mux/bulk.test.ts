import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import type { MuxStream, StreamHandler } from '../../../src/mux/stream.js';
import { memoryPair, turns, until } from './wire.js';

const MiB = 1024 * 1024;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Sends `source` through a stream with backpressure (stops when write() says so, goes on
 * at onDrain) and hashes what arrives; `consume` decides when received bytes are reported.
 */
class Transfer implements StreamHandler {
  stream!: MuxStream;
  readonly hash = createHash('sha256');
  received = 0;
  ended = 0;
  closed = 0;
  resets: [number, string][] = [];
  writeFalse = 0;
  private offset = 0;
  private finished = false;

  constructor(
    private readonly source: Buffer,
    private readonly chunk: number,
    private readonly consume: (stream: MuxStream, n: number) => void,
  ) {}

  pump(): void {
    const { source, chunk } = this;
    while (this.offset < source.length) {
      const end = Math.min(this.offset + chunk, source.length);
      const ok = this.stream.write(source.subarray(this.offset, end));
      this.offset = end;
      if (!ok) {
        this.writeFalse++;
        return;
      }
    }
    if (!this.finished) {
      this.finished = true;
      this.stream.end();
    }
  }

  onOpen(): void {
    this.pump();
  }
  onDrain(): void {
    this.pump();
  }
  onData(chunk: Buffer): void {
    this.hash.update(chunk);
    this.received += chunk.length;
    this.consume(this.stream, chunk.length);
  }
  onEnd(): void {
    this.ended++;
  }
  onReset(code: number, reason: string): void {
    this.resets.push([code, reason]);
  }
  onClose(): void {
    this.closed++;
  }
}

function randomDelayConsume(stream: MuxStream, n: number): void {
  const r = Math.random();
  if (r < 0.5) setImmediate(() => stream.consumed(n));
  else setTimeout(() => stream.consumed(n), Math.floor(r * 4));
}

for (const [mode, headroom] of [
  ['', undefined],
  [' (framing transport: headroom and pooled message buffers)', 14],
] as const) {
  it(`carries 64 MiB each way through one stream, byte-exact, with a randomly slow consumer${mode}`, {
    timeout: 120_000,
  }, async () => {
    const { a, b, meterA, meterB, reuseErrors } = memoryPair({}, undefined, { headroom });
    const size = 64 * MiB;
    const up = randomBytes(size);
    const down = randomBytes(size);
    const upHash = sha256(up);
    const downHash = sha256(down);

    const client = new Transfer(up, 64 * 1024, randomDelayConsume);
    let server: Transfer | undefined;
    b.onStream = (stream, open) => {
      assert.equal(open.address, 'bulk');
      server = new Transfer(down, 16 * 1024 + 7, randomDelayConsume); // odd chunk size on purpose
      server.stream = stream;
      stream.setHandler(server);
      stream.accept();
      server.pump();
    };
    const started = performance.now();
    client.stream = a.openStream({ address: 'bulk' }, client);
    await until(() => client.closed === 1 && server?.closed === 1, 110_000, 'both ends closed');
    const seconds = (performance.now() - started) / 1000;

    assert.equal(server!.received, size);
    assert.equal(client.received, size);
    assert.equal(server!.hash.digest('hex'), upHash);
    assert.equal(client.hash.digest('hex'), downHash);
    assert.equal(client.ended, 1);
    assert.equal(server!.ended, 1);
    assert.deepEqual(client.resets, []);
    assert.equal(a.streamCount, 0);
    assert.equal(b.streamCount, 0);
    await turns();
    assert.equal(meterA.current, 0);
    assert.equal(meterB.current, 0);
    assert.deepEqual(reuseErrors, []);
    const mbps = (2 * size) / MiB / seconds;
    process.stderr.write(
      `# in-memory mux: 2 x 64 MiB in ${seconds.toFixed(2)} s = ${mbps.toFixed(0)} MiB/s total` +
        ` (peak buffered: a ${(meterA.peak / MiB).toFixed(1)} MiB, b ${(meterB.peak / MiB).toFixed(1)} MiB)\n`,
    );
  });
}

it('a receiver that stops consuming pauses its sender after one window, then completes when it resumes', {
  timeout: 60_000,
}, async () => {
  const { a, b, meterB, settings } = memoryPair();
  const size = 32 * MiB;
  const data = randomBytes(size);
  let paused = true;
  const backlog: number[] = [];
  const consume = (stream: MuxStream, n: number) => {
    if (paused) backlog.push(n);
    else stream.consumed(n);
  };
  const client = new Transfer(data, 64 * 1024, consume);
  const server = new Transfer(Buffer.alloc(0), 1, consume);
  b.onStream = (stream) => {
    server.stream = stream;
    stream.setHandler(server);
    stream.accept();
    server.pump(); // nothing to send back: just FIN (our direction stays open)
  };
  client.stream = a.openStream({ address: 'slow' }, client);

  // Let it run until nothing moves any more.
  await until(() => server.received >= settings.streamWindow, 10_000, 'one window delivered');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(server.received, settings.streamWindow, 'exactly one window crossed');
  assert.ok(client.writeFalse >= 1, 'write() told the sender to stop');
  assert.ok(
    meterB.peak <= settings.streamWindow + settings.maxFrameSize,
    `receiver held ${meterB.peak} bytes`,
  );
  assert.ok(client.stream.bufferedBytes <= 64 * 1024, 'sender holds at most one chunk');
  assert.equal(server.ended, 0);

  paused = false;
  for (const n of backlog.splice(0)) server.stream.consumed(n);
  await until(() => server.closed === 1 && client.closed === 1, 30_000, 'transfer done');
  assert.equal(server.received, size);
  assert.equal(server.hash.digest('hex'), sha256(data));
  assert.equal(server.ended, 1, 'onEnd exactly once');
  assert.ok(meterB.peak <= settings.streamWindow + settings.maxFrameSize);
});
