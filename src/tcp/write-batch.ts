import type { Socket } from 'node:net';

/** Who hears that a socket write completed: the bytes of that write, in write order. */
export interface WriteOwner {
  socketWritten(bytes: number, err?: Error | null): void;
}

/**
 * Joins the writes a socket gets in one event-loop turn. The link hands received data on as
 * views of its 16 KiB TLS reads, so one busy turn can bring a stream dozens of pieces; and a
 * peer may send DATA frames of one byte, so a turn can bring it thousands. The first write
 * of a turn goes out at once (a lone request/response message is not delayed); later ones
 * are held and leave together when the turn's immediates run: runs of small pieces copied
 * into one buffer, large ones as they are, all in one corked writev. Each socket write is
 * one entry in a FIFO of lengths (an index, never Array.shift), so the cost per piece is
 * constant however many pieces there are.
 */
export class WriteBatch {
  private active = false;
  /** Pieces written after the first of this turn, held[0..heldCount). */
  private held: Buffer[] = [];
  private heldCount = 0;
  /** Lengths of socket writes whose callback has not run, lengths[head..tail). */
  private lengths: number[] = [];
  private head = 0;
  private tail = 0;

  constructor(
    private readonly socket: Socket,
    private readonly owner: WriteOwner,
  ) {}

  write(chunk: Buffer): void {
    if (!this.active) {
      this.active = true;
      if (pendingCount === 0) setImmediate(flushAll);
      pending[pendingCount++] = this;
      this.send(chunk);
      return;
    }
    this.held[this.heldCount++] = chunk;
  }

  /** Ends the turn: held pieces go out. */
  flush(): void {
    this.active = false;
    const n = this.heldCount;
    if (n === 0) return;
    const held = this.held;
    if (n === 1) {
      this.send(held[0]!);
    } else {
      this.socket.cork();
      let i = 0;
      while (i < n) {
        let j = i;
        let bytes = 0;
        while (j < n && held[j]!.length < SMALL_PIECE && bytes < JOIN_MAX) {
          bytes += held[j]!.length;
          j++;
        }
        if (j - i > 1) {
          this.send(join(held, i, j, bytes));
          i = j;
        } else {
          this.send(held[i]!);
          i++;
        }
      }
      this.socket.uncork();
    }
    this.heldCount = 0;
    if (n > MAX_IDLE_SLOTS) this.held = [];
    else held.fill(EMPTY, 0, n);
  }

  private send(chunk: Buffer): void {
    this.lengths[this.tail++] = chunk.length;
    this.socket.write(chunk, this.written);
  }

  /** Write callbacks run in order, so the oldest length is the one just written. */
  private readonly written = (err?: Error | null): void => {
    const bytes = this.lengths[this.head++]!;
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      if (this.lengths.length > MAX_IDLE_SLOTS) this.lengths = [];
    } else if (this.head > MAX_IDLE_SLOTS && this.head * 2 > this.tail) {
      this.lengths = this.lengths.slice(this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    this.owner.socketWritten(bytes, err);
  };
}

/** Pieces shorter than this are copied together rather than written one by one. */
const SMALL_PIECE = 4096;
/** The most bytes copied into one joined buffer. */
const JOIN_MAX = 64 * 1024;
/** Slots an emptied FIFO or held list may keep for reuse. */
const MAX_IDLE_SLOTS = 64;
const EMPTY = Buffer.alloc(0);

function join(list: Buffer[], from: number, to: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let off = 0;
  for (let i = from; i < to; i++) {
    const piece = list[i]!;
    piece.copy(out, off);
    off += piece.length;
  }
  return out;
}

/**
 * Batches active this turn, pending[0..pendingCount). Two arrays take turns and keep their
 * length, so scheduling a batch allocates nothing (a fresh array per turn did).
 */
let pending: (WriteBatch | undefined)[] = [];
let pendingCount = 0;
let spare: (WriteBatch | undefined)[] = [];

function flushAll(): void {
  const list = pending;
  const n = pendingCount;
  pending = spare;
  pendingCount = 0;
  spare = list;
  for (let i = 0; i < n; i++) {
    const batch = list[i]!;
    list[i] = undefined;
    batch.flush();
  }
}
