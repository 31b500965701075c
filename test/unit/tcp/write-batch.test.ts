/**
 * WriteBatch over a real loopback socket (issue 9 point 5): a turn of many tiny pieces, as a
 * peer's 1-byte DATA frames bring, leaves in a few joined socket writes rather than one write
 * each, arrives byte-exact and in order, and every byte is reported written exactly once.
 * The old path made each piece its own socket write and kept their lengths in an array it
 * shifted, which was quadratic in the count.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { WriteBatch, type WriteOwner } from '../../../src/tcp/write-batch.js';
import { withTimeout } from '../../helpers/wait.js';

interface Pair {
  writer: Socket;
  received: Promise<{ bytes: number; sha256: string }>;
  close(): void;
}

async function socketPair(): Promise<Pair> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const writer = connect(port, '127.0.0.1');
  await once(writer, 'connect');
  const [reader] = await accepted;
  const received = new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    reader.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    reader.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    reader.once('error', reject);
  });
  return {
    writer,
    received,
    close() {
      writer.destroy();
      reader.destroy();
      server.close();
    },
  };
}

class CountingOwner implements WriteOwner {
  calls = 0;
  bytes = 0;
  errors = 0;
  socketWritten(bytes: number, err?: Error | null): void {
    this.calls++;
    this.bytes += bytes;
    if (err) this.errors++;
  }
}

function pieces(count: number, size: (i: number) => number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(Buffer.alloc(size(i), i % 251));
  return out;
}

function sha256(list: Buffer[]): string {
  const hash = createHash('sha256');
  for (const piece of list) hash.update(piece);
  return hash.digest('hex');
}

/** Writes `list` in one event-loop turn, ends the socket after the batch flushed. */
async function writeInOneTurn(list: Buffer[]) {
  const pair = await socketPair();
  try {
    const owner = new CountingOwner();
    const batch = new WriteBatch(pair.writer, owner);
    for (const piece of list) batch.write(piece);
    await new Promise((resolve) => setImmediate(resolve));
    pair.writer.end();
    const received = await withTimeout(pair.received, 20_000, 'the reader to see the end');
    return { owner, received };
  } finally {
    pair.close();
  }
}

describe('WriteBatch', () => {
  it('sends 100,000 one-byte pieces of one turn in a handful of socket writes, in order', async () => {
    const list = pieces(100_000, () => 1);
    const { owner, received } = await writeInOneTurn(list);
    assert.deepEqual(received, { bytes: 100_000, sha256: sha256(list) });
    assert.equal(owner.bytes, 100_000, 'every byte reported written once');
    assert.equal(owner.errors, 0);
    // The first piece goes out at once; the rest are joined into buffers of up to 64 KiB.
    assert.ok(owner.calls <= 4, `${owner.calls} socket writes for 100,000 pieces`);
  });

  it('keeps order when small and large pieces alternate', async () => {
    const list = pieces(2_000, (i) => (i % 7 === 0 ? 20_000 : 1 + (i % 300)));
    const total = list.reduce((sum, piece) => sum + piece.length, 0);
    const { owner, received } = await writeInOneTurn(list);
    assert.deepEqual(received, { bytes: total, sha256: sha256(list) });
    assert.equal(owner.bytes, total);
    assert.ok(
      owner.calls < list.length / 2,
      `${owner.calls} socket writes for ${list.length} pieces`,
    );
  });
});
